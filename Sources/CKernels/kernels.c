#include "CKernels.h"
#include <math.h>

// Eight lanes, so sums keep the same order (and the same result) in both variants.
typedef float lanes8 __attribute__((vector_size(32), aligned(4), may_alias));

// Macros, not functions: a helper taking a vector would have a different ABI in each variant.
#define LANES_SUM(v) ((((v)[0] + (v)[1]) + ((v)[2] + (v)[3])) + (((v)[4] + (v)[5]) + ((v)[6] + (v)[7])))
#define LANES_LOAD(p) (*(const lanes8 *)(p))

#define TANH_BODY(x_expr, out_lvalue)                                                                     \
    do {                                                                                                  \
        const float limit = 7.90531110763549805f;                                                         \
        float value = (x_expr);                                                                           \
        value = value > limit ? limit : (value < -limit ? -limit : value);                                \
        const float x2 = value * value;                                                                   \
        float p = -2.76076847742355e-16f;                                                                 \
        p = p * x2 + 2.00018790482477e-13f;                                                               \
        p = p * x2 - 8.60467152213735e-11f;                                                               \
        p = p * x2 + 5.12229709037114e-08f;                                                               \
        p = p * x2 + 1.48572235717979e-05f;                                                               \
        p = p * x2 + 6.37261928875436e-04f;                                                               \
        p = p * x2 + 4.89352455891786e-03f;                                                               \
        float q = 1.19825839466702e-06f;                                                                  \
        q = q * x2 + 1.18534705686654e-04f;                                                               \
        q = q * x2 + 2.26843463243900e-03f;                                                               \
        q = q * x2 + 4.89352518554385e-03f;                                                               \
        out_lvalue = p * value / q;                                                                       \
    } while (0)

// Each kernel's body, defined once and compiled for both instruction sets below.
#define DEFINE_KERNELS(SUFFIX, ATTRIBUTES)                                                                \
    ATTRIBUTES static void tanh_forward_##SUFFIX(float *restrict out, const float *restrict x, long count) { \
        for (long i = 0; i < count; i++) TANH_BODY(x[i], out[i]);                                         \
    }                                                                                                     \
    ATTRIBUTES static void tanh_backward_##SUFFIX(float *restrict dx, const float *restrict dy,           \
                                                  const float *restrict y, long count) {                  \
        for (long i = 0; i < count; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);                               \
    }                                                                                                     \
    ATTRIBUTES static void layer_norm_forward_##SUFFIX(const float *restrict x, float *restrict normalized, \
            float *restrict inverse_deviation, float *restrict y, const float *restrict gamma,            \
            const float *restrict beta, long rows, long width, float epsilon) {                           \
        const long vector_width = width & ~7L;                                                            \
        for (long row = 0; row < rows; row++) {                                                           \
            const float *in = x + row * width;                                                            \
            float *x_hat = normalized + row * width, *out = y + row * width;                              \
            lanes8 sums = {0}, squares = {0};                                                             \
            long i = 0;                                                                                   \
            for (; i < vector_width; i += 8) {                                                            \
                lanes8 v = LANES_LOAD(in + i);                                                            \
                sums += v;                                                                                \
                squares += v * v;                                                                         \
            }                                                                                             \
            float sum = LANES_SUM(sums), sum_of_squares = LANES_SUM(squares);                             \
            for (; i < width; i++) {                                                                      \
                sum += in[i];                                                                             \
                sum_of_squares += in[i] * in[i];                                                          \
            }                                                                                             \
            const float mean = sum / (float)width;                                                        \
            float variance = sum_of_squares / (float)width - mean * mean;                                 \
            if (variance < 0) variance = 0;                                                               \
            const float inverse = 1 / sqrtf(variance + epsilon);                                          \
            inverse_deviation[row] = inverse;                                                             \
            for (i = 0; i < width; i++) {                                                                 \
                const float value = (in[i] - mean) * inverse;                                             \
                x_hat[i] = value;                                                                         \
                out[i] = value * gamma[i] + beta[i];                                                      \
            }                                                                                             \
        }                                                                                                 \
    }                                                                                                     \
    ATTRIBUTES static void layer_norm_backward_##SUFFIX(const float *restrict dy,                         \
            const float *restrict normalized, const float *restrict inverse_deviation,                    \
            const float *restrict gamma, float *restrict gamma_gradient, float *restrict beta_gradient,   \
            float *restrict dx, long rows, long width) {                                                  \
        const long vector_width = width & ~7L;                                                            \
        for (long row = 0; row < rows; row++) {                                                           \
            const float *g = dy + row * width, *x_hat = normalized + row * width;                         \
            if (gamma_gradient && beta_gradient) {                                                        \
                for (long i = 0; i < width; i++) {                                                        \
                    gamma_gradient[i] += g[i] * x_hat[i];                                                 \
                    beta_gradient[i] += g[i];                                                             \
                }                                                                                         \
            }                                                                                             \
            if (!dx) continue;                                                                            \
            /* dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), with dx̂ = dy · γ. */                        \
            lanes8 sums = {0}, products = {0};                                                            \
            long i = 0;                                                                                   \
            for (; i < vector_width; i += 8) {                                                            \
                lanes8 d = LANES_LOAD(g + i) * LANES_LOAD(gamma + i);                                     \
                sums += d;                                                                                \
                products += d * LANES_LOAD(x_hat + i);                                                    \
            }                                                                                             \
            float mean_d = LANES_SUM(sums), mean_dx = LANES_SUM(products);                                \
            for (; i < width; i++) {                                                                      \
                const float d = g[i] * gamma[i];                                                          \
                mean_d += d;                                                                              \
                mean_dx += d * x_hat[i];                                                                  \
            }                                                                                             \
            mean_d /= (float)width;                                                                       \
            mean_dx /= (float)width;                                                                      \
            const float inverse = inverse_deviation[row];                                                 \
            float *out = dx + row * width;                                                                \
            for (i = 0; i < width; i++) out[i] = (g[i] * gamma[i] - mean_d - x_hat[i] * mean_dx) * inverse; \
        }                                                                                                 \
    }                                                                                                     \
    ATTRIBUTES static void adam_##SUFFIX(float *restrict values, const float *restrict gradients,         \
            float *restrict m, float *restrict v, long count, float beta1, float beta2, float step_size,  \
            float root_correction2, float epsilon) {                                                      \
        for (long i = 0; i < count; i++) {                                                                \
            const float g = gradients[i];                                                                 \
            const float first = m[i] * beta1 + g * (1 - beta1);                                           \
            const float second = v[i] * beta2 + g * g * (1 - beta2);                                      \
            m[i] = first;                                                                                 \
            v[i] = second;                                                                                \
            values[i] -= step_size * first / (sqrtf(second) / root_correction2 + epsilon);                \
        }                                                                                                 \
    }

// im2col and col2im copy or add one kernel row of taps (kernel × channels floats, contiguous in
// the image and in the patch row) at a time wherever it lies inside the image.
#define DEFINE_PATCH_KERNELS(SUFFIX, ATTRIBUTES)                                                          \
    ATTRIBUTES static void relu_forward_##SUFFIX(float *restrict out, const float *restrict x, long count) { \
        for (long i = 0; i < count; i++) out[i] = x[i] > 0 ? x[i] : 0;                                    \
    }                                                                                                     \
    ATTRIBUTES static void relu_backward_##SUFFIX(float *restrict dx, const float *restrict dy,           \
                                                  const float *restrict y, long count) {                  \
        for (long i = 0; i < count; i++) dx[i] = y[i] > 0 ? dy[i] : 0;                                    \
    }                                                                                                     \
    ATTRIBUTES static void gather_patches_##SUFFIX(const float *restrict images, float *restrict patches,  \
                                                   long samples, const reins_convolution_shape *shape) {  \
        const long h = shape->height, w = shape->width, c = shape->channels, k = shape->kernel;           \
        const long out_h = shape->output_height, out_w = shape->output_width;                             \
        const long row_floats = k * c, patch = k * row_floats;                                            \
        float *row = patches;                                                                             \
        for (long sample = 0; sample < samples; sample++) {                                               \
            const float *image = images + sample * h * w * c;                                             \
            for (long oy = 0; oy < out_h; oy++) {                                                         \
                for (long ox = 0; ox < out_w; ox++, row += patch) {                                       \
                    const long x0 = ox * shape->stride - shape->padding;                                  \
                    for (long ky = 0; ky < k; ky++) {                                                     \
                        const long y = oy * shape->stride - shape->padding + ky;                          \
                        float *destination = row + ky * row_floats;                                       \
                        if (y < 0 || y >= h) {                                                            \
                            for (long i = 0; i < row_floats; i++) destination[i] = 0;                     \
                            continue;                                                                     \
                        }                                                                                 \
                        const float *source = image + (y * w + x0) * c;                                   \
                        if (x0 >= 0 && x0 + k <= w) {                                                     \
                            for (long i = 0; i < row_floats; i++) destination[i] = source[i];             \
                            continue;                                                                     \
                        }                                                                                 \
                        for (long kx = 0; kx < k; kx++) {                                                 \
                            const long x = x0 + kx;                                                       \
                            if (x >= 0 && x < w)                                                          \
                                for (long i = 0; i < c; i++) destination[kx * c + i] = source[kx * c + i]; \
                            else                                                                          \
                                for (long i = 0; i < c; i++) destination[kx * c + i] = 0;                 \
                        }                                                                                 \
                    }                                                                                     \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }                                                                                                     \
    ATTRIBUTES static void scatter_patches_##SUFFIX(const float *restrict patch_gradient,                 \
                                                    float *restrict image_gradient, long samples,         \
                                                    const reins_convolution_shape *shape) {               \
        const long h = shape->height, w = shape->width, c = shape->channels, k = shape->kernel;           \
        const long out_h = shape->output_height, out_w = shape->output_width;                             \
        const long row_floats = k * c, patch = k * row_floats;                                            \
        for (long i = 0; i < samples * h * w * c; i++) image_gradient[i] = 0;                             \
        const float *row = patch_gradient;                                                                \
        for (long sample = 0; sample < samples; sample++) {                                               \
            float *image = image_gradient + sample * h * w * c;                                           \
            for (long oy = 0; oy < out_h; oy++) {                                                         \
                for (long ox = 0; ox < out_w; ox++, row += patch) {                                       \
                    const long x0 = ox * shape->stride - shape->padding;                                  \
                    for (long ky = 0; ky < k; ky++) {                                                     \
                        const long y = oy * shape->stride - shape->padding + ky;                          \
                        if (y < 0 || y >= h) continue;                                                    \
                        const float *source = row + ky * row_floats;                                      \
                        float *destination = image + (y * w + x0) * c;                                    \
                        if (x0 >= 0 && x0 + k <= w) {                                                     \
                            for (long i = 0; i < row_floats; i++) destination[i] += source[i];            \
                            continue;                                                                     \
                        }                                                                                 \
                        for (long kx = 0; kx < k; kx++) {                                                 \
                            const long x = x0 + kx;                                                       \
                            if (x < 0 || x >= w) continue;                                                \
                            for (long i = 0; i < c; i++) destination[kx * c + i] += source[kx * c + i];   \
                        }                                                                                 \
                    }                                                                                     \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

DEFINE_KERNELS(baseline, )
DEFINE_PATCH_KERNELS(baseline, )
#if defined(__x86_64__)
DEFINE_KERNELS(avx2, __attribute__((target("avx2,fma"))))
DEFINE_PATCH_KERNELS(avx2, __attribute__((target("avx2,fma"))))
#define PICK(set, name) ((set) == REINS_KERNELS_AVX2_FMA ? name##_avx2 : name##_baseline)
#else
#define PICK(set, name) ((void)(set), name##_baseline)
#endif

void reins_tanh_forward(reins_kernel_set set, float *out, const float *x, long count) {
    PICK(set, tanh_forward)(out, x, count);
}

void reins_tanh_backward(reins_kernel_set set, float *dx, const float *dy, const float *y, long count) {
    PICK(set, tanh_backward)(dx, dy, y, count);
}

void reins_layer_norm_forward(reins_kernel_set set, const float *x, float *normalized, float *inverse_deviation, float *y,
                              const float *gamma, const float *beta, long rows, long width, float epsilon) {
    PICK(set, layer_norm_forward)(x, normalized, inverse_deviation, y, gamma, beta, rows, width, epsilon);
}

void reins_layer_norm_backward(reins_kernel_set set, const float *dy, const float *normalized, const float *inverse_deviation,
                               const float *gamma, float *gamma_gradient, float *beta_gradient, float *dx, long rows, long width) {
    PICK(set, layer_norm_backward)(dy, normalized, inverse_deviation, gamma, gamma_gradient, beta_gradient, dx, rows, width);
}

void reins_adam(reins_kernel_set set, float *values, const float *gradients, float *m, float *v, long count,
                float beta1, float beta2, float step_size, float root_correction2, float epsilon) {
    PICK(set, adam)(values, gradients, m, v, count, beta1, beta2, step_size, root_correction2, epsilon);
}

void reins_relu_forward(reins_kernel_set set, float *out, const float *x, long count) {
    PICK(set, relu_forward)(out, x, count);
}

void reins_relu_backward(reins_kernel_set set, float *dx, const float *dy, const float *y, long count) {
    PICK(set, relu_backward)(dx, dy, y, count);
}

void reins_gather_patches(reins_kernel_set set, const float *images, float *patches, long samples, const reins_convolution_shape *shape) {
    PICK(set, gather_patches)(images, patches, samples, shape);
}

void reins_scatter_patches(reins_kernel_set set, const float *patch_gradient, float *image_gradient, long samples,
                           const reins_convolution_shape *shape) {
    PICK(set, scatter_patches)(patch_gradient, image_gradient, samples, shape);
}
