/* cuda-check.h: how the kernels report failures. Library code never prints and never exits: a
 * failing function returns a negative errno and leaves one line naming the problem in a
 * thread-local buffer that C callers read with kernels_last_error().
 *
 * In .cu files, CUDA_CHECK(stmt) runs stmt (a cudaError_t expression) and, when it fails, records
 * "file:line: stmt: cudaErrorName: description" and returns the matching negative errno from the
 * enclosing function (which must return int). */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* The message of the last failure of a kernels_* function on this thread ("" when none yet). */
const char *kernels_last_error(void);

#ifdef __cplusplus
}
#endif

#ifdef __CUDACC__
#include <cuda_runtime.h>

/* Records a failed CUDA call and returns its negative errno: -ENOMEM for allocation failures,
 * -ENODEV when there is no usable device or driver, -EINVAL for invalid values and launch
 * configurations, -EIO for everything else (a kernel fault: the context is then unusable). */
int kernels_cuda_fail(cudaError_t e, const char *stmt, const char *file, int line);

/* Records a failure that is not a CUDA error (a bad argument) and returns error (a negative errno). */
int kernels_fail(int error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CUDA_CHECK(stmt)                                                                               \
        do {                                                                                           \
                cudaError_t _cuda_e_ = (stmt);                                                         \
                if (_cuda_e_ != cudaSuccess)                                                           \
                        return kernels_cuda_fail(_cuda_e_, #stmt, __FILE__, __LINE__);                 \
        } while (0)

/* After a <<<...>>> launch: a bad launch configuration is reported here, not by the launch. */
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
#endif
