#ifndef REINS_CGLOFFSCREEN_H
#define REINS_CGLOFFSCREEN_H
// An offscreen OpenGL context for MuJoCo's renderer, with no window system.
// Neither GL library is linked: the chosen one is dlopen'ed with RTLD_GLOBAL at run time, since
// MuJoCo's GL loader looks up eglGetProcAddress before OSMesaGetProcAddress and fails under
// OSMesa when libEGL is in the process. Use one backend per process.
#include <stddef.h>

typedef enum {
    REINS_GL_OSMESA = 0,
    REINS_GL_EGL = 1,
} reins_gl_backend;

typedef struct reins_gl_context reins_gl_context;

/// The shared object each backend loads unless `library` overrides it.
const char *reins_gl_default_library(reins_gl_backend backend);

/// Loads the backend's library and creates a context of at least `width`×`height`, current on no
/// thread. Returns NULL with the reason in `error`.
reins_gl_context *reins_gl_create(reins_gl_backend backend, const char *library, int width, int height,
                                  char *error, size_t error_size);

/// Makes the context current on the calling thread; returns 0 on success.
int reins_gl_make_current(reins_gl_context *context);

/// Leaves no context current on the calling thread; returns 0 on success.
int reins_gl_release(reins_gl_context *context);

/// glGetString of GL_RENDERER and GL_VERSION, or "" when unavailable. The context must be current.
const char *reins_gl_renderer(reins_gl_context *context);
const char *reins_gl_version(reins_gl_context *context);

/// Frees the context, which must be current on no thread. The library stays loaded: MuJoCo may
/// hold its function pointers.
void reins_gl_destroy(reins_gl_context *context);

#endif
