#include "CGLOffscreen.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The few GL, OSMesa and EGL declarations needed, written out so no GL header or library is
// required at build time.
typedef unsigned int GLenum;
typedef unsigned char GLubyte;
#define GL_RENDERER 0x1F01
#define GL_VERSION 0x1F02
#define GL_UNSIGNED_BYTE 0x1401
typedef const GLubyte *(*gl_get_string_fn)(GLenum);

#define OSMESA_RGBA 0x1908
typedef void *OSMesaContext;
typedef OSMesaContext (*osmesa_create_ext_fn)(GLenum, int, int, int, OSMesaContext);
typedef unsigned char (*osmesa_make_current_fn)(OSMesaContext, void *, GLenum, int, int);
typedef void (*osmesa_destroy_fn)(OSMesaContext);
typedef void *(*osmesa_get_proc_fn)(const char *);

typedef void *EGLDisplay;
typedef void *EGLConfig;
typedef void *EGLContext;
typedef void *EGLSurface;
typedef int32_t EGLint;
typedef unsigned int EGLBoolean;
typedef unsigned int EGLenum;
#define EGL_NONE 0x3038
#define EGL_SURFACE_TYPE 0x3033
#define EGL_PBUFFER_BIT 0x0001
#define EGL_RENDERABLE_TYPE 0x3040
#define EGL_OPENGL_BIT 0x0008
#define EGL_RED_SIZE 0x3024
#define EGL_GREEN_SIZE 0x3023
#define EGL_BLUE_SIZE 0x3022
#define EGL_DEPTH_SIZE 0x3025
#define EGL_OPENGL_API 0x30A2
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
typedef EGLDisplay (*egl_get_platform_display_fn)(EGLenum, void *, const EGLint *);
typedef EGLDisplay (*egl_get_display_fn)(void *);
typedef EGLBoolean (*egl_initialize_fn)(EGLDisplay, EGLint *, EGLint *);
typedef EGLBoolean (*egl_choose_config_fn)(EGLDisplay, const EGLint *, EGLConfig *, EGLint, EGLint *);
typedef EGLBoolean (*egl_bind_api_fn)(EGLenum);
typedef EGLContext (*egl_create_context_fn)(EGLDisplay, EGLConfig, EGLContext, const EGLint *);
typedef EGLBoolean (*egl_make_current_fn)(EGLDisplay, EGLSurface, EGLSurface, EGLContext);
typedef EGLBoolean (*egl_destroy_context_fn)(EGLDisplay, EGLContext);
typedef EGLint (*egl_get_error_fn)(void);
typedef void *(*egl_get_proc_fn)(const char *);

struct reins_gl_context {
    reins_gl_backend backend;
    void *library;
    int width, height;
    gl_get_string_fn get_string;
    // OSMesa
    OSMesaContext osmesa;
    void *framebuffer;
    osmesa_make_current_fn osmesa_make_current;
    osmesa_destroy_fn osmesa_destroy;
    // EGL
    EGLDisplay egl_display;
    EGLContext egl_context;
    egl_make_current_fn egl_make_current;
    egl_destroy_context_fn egl_destroy_context;
};

const char *reins_gl_default_library(reins_gl_backend backend) {
    return backend == REINS_GL_EGL ? "libEGL.so.1" : "libOSMesa.so.8";
}

static void *symbol(void *library, const char *name, char *error, size_t error_size) {
    void *address = dlsym(library, name);
    if (!address) snprintf(error, error_size, "the loaded GL library has no symbol %s", name);
    return address;
}

static int create_osmesa(reins_gl_context *c, char *error, size_t error_size) {
    osmesa_create_ext_fn create = symbol(c->library, "OSMesaCreateContextExt", error, error_size);
    c->osmesa_make_current = symbol(c->library, "OSMesaMakeCurrent", error, error_size);
    c->osmesa_destroy = symbol(c->library, "OSMesaDestroyContext", error, error_size);
    osmesa_get_proc_fn get_proc = symbol(c->library, "OSMesaGetProcAddress", error, error_size);
    if (!create || !c->osmesa_make_current || !c->osmesa_destroy || !get_proc) return -1;
    c->osmesa = create(OSMESA_RGBA, 24, 8, 0, NULL);
    if (!c->osmesa) {
        snprintf(error, error_size, "OSMesaCreateContextExt failed (RGBA, 24-bit depth, 8-bit stencil)");
        return -1;
    }
    c->framebuffer = calloc((size_t)c->width * (size_t)c->height, 4);
    if (!c->framebuffer) {
        snprintf(error, error_size, "out of memory for a %dx%d framebuffer", c->width, c->height);
        return -1;
    }
    if (!c->osmesa_make_current(c->osmesa, c->framebuffer, GL_UNSIGNED_BYTE, c->width, c->height)) {
        snprintf(error, error_size, "OSMesaMakeCurrent failed for %dx%d", c->width, c->height);
        return -1;
    }
    c->get_string = (gl_get_string_fn)get_proc("glGetString");
    return 0;
}

static int create_egl(reins_gl_context *c, char *error, size_t error_size) {
    egl_get_proc_fn get_proc = symbol(c->library, "eglGetProcAddress", error, error_size);
    egl_get_display_fn get_display = symbol(c->library, "eglGetDisplay", error, error_size);
    egl_initialize_fn initialize = symbol(c->library, "eglInitialize", error, error_size);
    egl_choose_config_fn choose_config = symbol(c->library, "eglChooseConfig", error, error_size);
    egl_bind_api_fn bind_api = symbol(c->library, "eglBindAPI", error, error_size);
    egl_create_context_fn create_context = symbol(c->library, "eglCreateContext", error, error_size);
    egl_get_error_fn get_error = symbol(c->library, "eglGetError", error, error_size);
    c->egl_make_current = symbol(c->library, "eglMakeCurrent", error, error_size);
    c->egl_destroy_context = symbol(c->library, "eglDestroyContext", error, error_size);
    if (!get_proc || !get_display || !initialize || !choose_config || !bind_api || !create_context ||
        !get_error || !c->egl_make_current || !c->egl_destroy_context)
        return -1;

    // Surfaceless Mesa needs no display server; fall back to the default display elsewhere.
    egl_get_platform_display_fn get_platform_display =
        (egl_get_platform_display_fn)get_proc("eglGetPlatformDisplayEXT");
    if (get_platform_display)
        c->egl_display = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, NULL, NULL);
    if (!c->egl_display) c->egl_display = get_display(NULL);
    EGLint major = 0, minor = 0;
    if (!c->egl_display || !initialize(c->egl_display, &major, &minor)) {
        snprintf(error, error_size, "eglInitialize failed (EGL error 0x%x)", get_error());
        c->egl_display = NULL;
        return -1;
    }
    const EGLint attributes[] = {
        EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
        EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8, EGL_DEPTH_SIZE, 24, EGL_NONE,
    };
    EGLConfig config = NULL;
    EGLint count = 0;
    if (!choose_config(c->egl_display, attributes, &config, 1, &count) || count < 1) {
        snprintf(error, error_size, "eglChooseConfig found no RGB8 config with a 24-bit depth buffer");
        return -1;
    }
    if (!bind_api(EGL_OPENGL_API)) {
        snprintf(error, error_size, "eglBindAPI(EGL_OPENGL_API) failed (EGL error 0x%x)", get_error());
        return -1;
    }
    c->egl_context = create_context(c->egl_display, config, NULL, NULL);
    if (!c->egl_context) {
        snprintf(error, error_size, "eglCreateContext failed (EGL error 0x%x)", get_error());
        return -1;
    }
    if (!c->egl_make_current(c->egl_display, NULL, NULL, c->egl_context)) {
        snprintf(error, error_size, "eglMakeCurrent without a surface failed (EGL error 0x%x)", get_error());
        return -1;
    }
    c->get_string = (gl_get_string_fn)get_proc("glGetString");
    return 0;
}

reins_gl_context *reins_gl_create(reins_gl_backend backend, const char *library, int width, int height,
                                  char *error, size_t error_size) {
    if (width <= 0 || height <= 0) {
        snprintf(error, error_size, "the framebuffer size %dx%d must be positive", width, height);
        return NULL;
    }
    reins_gl_context *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    c->backend = backend;
    c->width = width;
    c->height = height;
    const char *path = library ? library : reins_gl_default_library(backend);
    c->library = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!c->library) {
        snprintf(error, error_size, "%s", dlerror());
        free(c);
        return NULL;
    }
    int status = backend == REINS_GL_EGL ? create_egl(c, error, error_size) : create_osmesa(c, error, error_size);
    reins_gl_release(c);
    if (status != 0) {
        reins_gl_destroy(c);
        return NULL;
    }
    return c;
}

int reins_gl_make_current(reins_gl_context *c) {
    if (c->backend == REINS_GL_EGL)
        return c->egl_make_current(c->egl_display, NULL, NULL, c->egl_context) ? 0 : -1;
    return c->osmesa_make_current(c->osmesa, c->framebuffer, GL_UNSIGNED_BYTE, c->width, c->height) ? 0 : -1;
}

int reins_gl_release(reins_gl_context *c) {
    if (c->backend == REINS_GL_EGL) {
        if (!c->egl_display || !c->egl_make_current) return 0;
        return c->egl_make_current(c->egl_display, NULL, NULL, NULL) ? 0 : -1;
    }
    if (!c->osmesa_make_current) return 0;
    // OSMesa's documented way to unbind: no context and no buffer.
    return c->osmesa_make_current(NULL, NULL, 0, 0, 0) ? 0 : -1;
}

static const char *gl_string(reins_gl_context *c, GLenum name) {
    if (!c->get_string) return "";
    const GLubyte *value = c->get_string(name);
    return value ? (const char *)value : "";
}

const char *reins_gl_renderer(reins_gl_context *c) { return gl_string(c, GL_RENDERER); }
const char *reins_gl_version(reins_gl_context *c) { return gl_string(c, GL_VERSION); }

void reins_gl_destroy(reins_gl_context *c) {
    if (!c) return;
    if (c->backend == REINS_GL_EGL) {
        // The display is the process's one surfaceless display, shared by every context: it is
        // not terminated here, or the other contexts on it would die with this one.
        if (c->egl_display && c->egl_context) c->egl_destroy_context(c->egl_display, c->egl_context);
    } else if (c->osmesa) {
        c->osmesa_destroy(c->osmesa);
    }
    free(c->framebuffer);
    free(c);
}
