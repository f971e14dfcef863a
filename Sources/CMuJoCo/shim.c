#include "CMuJoCo.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_warning[1000];

static void reins_mj_error(const char *message) {
    fprintf(stderr, "reins: MuJoCo fatal error: %s\n", message);
    fflush(stderr);
    exit(70);
}

static void reins_mj_warning(const char *message) {
    snprintf(last_warning, sizeof last_warning, "%s", message);
}

static void reins_mj_set_handlers(void) {
    mju_user_error = reins_mj_error;
    mju_user_warning = reins_mj_warning;
}

/* Once per process: models load on several threads (tests, the twin beside the renderer), and
   MuJoCo's handlers are plain globals. */
void reins_mj_install_handlers(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, reins_mj_set_handlers);
}

int reins_mj_take_warning(char *out, int out_size) {
    if (last_warning[0] == 0) return 0;
    snprintf(out, (size_t)out_size, "%s", last_warning);
    last_warning[0] = 0;
    return 1;
}

mjModel *reins_mj_load_xml_string(const char *xml, char *error, int error_size) {
    static const char *name = "reins_model.xml";
    mjVFS *vfs = malloc(sizeof(mjVFS));  // 2 MB: too big for the stack
    if (!vfs) {
        snprintf(error, (size_t)error_size, "out of memory for the MuJoCo VFS");
        return NULL;
    }
    mj_defaultVFS(vfs);
    int length = (int)strlen(xml);
    if (mj_makeEmptyFileVFS(vfs, name, length) != 0) {
        snprintf(error, (size_t)error_size, "could not make a %d-byte file in the MuJoCo VFS", length);
        free(vfs);
        return NULL;
    }
    int index = mj_findFileVFS(vfs, name);
    memcpy(vfs->filedata[index], xml, (size_t)length);
    mjModel *model = mj_loadXML(name, vfs, error, error_size);
    mj_deleteVFS(vfs);
    free(vfs);
    return model;
}

int reins_mj_version(void) { return mj_version(); }
