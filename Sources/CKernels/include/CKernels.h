#ifndef REINS_KERNELS_H
#define REINS_KERNELS_H

/// The learner's element-wise kernels, each built twice from one body: for the x86-64 baseline
/// every CPU runs (SSE2), and with AVX2 and FMA. Swift cannot compile one function for two
/// instruction sets in one binary; C can (`__attribute__((target))`). ReinsNN picks the variant
/// from CPUID once. Every kernel allocates nothing.

/// Which instruction set a kernel call runs on.
typedef enum {
    REINS_KERNELS_BASELINE = 0,
    REINS_KERNELS_AVX2_FMA = 1,
} reins_kernel_set;

/// out[i] = tanh(x[i]), as a 13/6 rational function (Eigen's and XLA's), clamped at ±7.9053.
void reins_tanh_forward(reins_kernel_set set, float *out, const float *x, long count);

/// dx[i] = dy[i] · (1 − y[i]²).
void reins_tanh_backward(reins_kernel_set set, float *dx, const float *dy, const float *y, long count);

/// Layer normalisation of `rows` rows of `width`: x̂ = (x − mean) / √(var + ε), y = x̂ · γ + β;
/// stores x̂ and 1/√(var + ε) per row for the backward pass.
void reins_layer_norm_forward(reins_kernel_set set, const float *x, float *normalized, float *inverse_deviation, float *y,
                              const float *gamma, const float *beta, long rows, long width, float epsilon);

/// The backward pass of `reins_layer_norm_forward`: adds dγ and dβ into `gamma_gradient` and
/// `beta_gradient` when they are not NULL, and writes dx into `dx` when it is not NULL.
void reins_layer_norm_backward(reins_kernel_set set, const float *dy, const float *normalized, const float *inverse_deviation,
                               const float *gamma, float *gamma_gradient, float *beta_gradient, float *dx, long rows, long width);

/// One Adam step over `count` parameters: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g²,
/// θ −= step_size · m / (√v / root_correction2 + ε).
void reins_adam(reins_kernel_set set, float *values, const float *gradients, float *m, float *v, long count,
                float beta1, float beta2, float step_size, float root_correction2, float epsilon);

/// out[i] = max(x[i], 0).
void reins_relu_forward(reins_kernel_set set, float *out, const float *x, long count);

/// dx[i] = dy[i] where the forward output y[i] was positive, else 0.
void reins_relu_backward(reins_kernel_set set, float *dx, const float *dy, const float *y, long count);

/// A convolution's shape on NHWC images, with its output size.
typedef struct {
    long height, width, channels, kernel, stride, padding, output_height, output_width;
} reins_convolution_shape;

/// im2col: each output pixel's receptive field becomes a row of `patches` (kernel·kernel·channels
/// floats, tap-major), zeros outside the image, for `samples` images in a row.
void reins_gather_patches(reins_kernel_set set, const float *images, float *patches, long samples, const reins_convolution_shape *shape);

/// col2im: zeroes the `samples` images of `image_gradient`, then adds each patch-gradient row
/// back onto the pixels it was gathered from.
void reins_scatter_patches(reins_kernel_set set, const float *patch_gradient, float *image_gradient, long samples,
                           const reins_convolution_shape *shape);

#endif
