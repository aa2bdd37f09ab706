/* cuda-check.cu: the thread-local last-error buffer behind CUDA_CHECK and kernels_fail. */
#include "cuda-check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#define KERNELS_ERROR_MAX 512

static thread_local char last_error[KERNELS_ERROR_MAX];

const char *kernels_last_error(void) {
        return last_error;
}

static int errno_of(cudaError_t e) {
        switch (e) {
        case cudaErrorMemoryAllocation:
                return ENOMEM;
        case cudaErrorNoDevice:
        case cudaErrorInsufficientDriver:
        case cudaErrorInvalidDevice:
        case cudaErrorDevicesUnavailable:
        case cudaErrorNoKernelImageForDevice:
        case cudaErrorUnsupportedPtxVersion:
                return ENODEV;
        case cudaErrorInvalidValue:
        case cudaErrorInvalidConfiguration:
        case cudaErrorInvalidDevicePointer:
        case cudaErrorInvalidMemcpyDirection:
                return EINVAL;
        default:
                return EIO;
        }
}

int kernels_cuda_fail(cudaError_t e, const char *stmt, const char *file, int line) {
        snprintf(last_error, sizeof last_error, "%s:%d: %s: %s: %s", file, line, stmt, cudaGetErrorName(e),
                 cudaGetErrorString(e));
        /* consume the runtime's last-error state, or the next CUDA_CHECK_LAUNCH() (cudaGetLastError)
         * would report this failure again against a launch that went well */
        (void) cudaGetLastError();
        return -errno_of(e);
}

int kernels_fail(int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(last_error, sizeof last_error, fmt, ap);
        va_end(ap);
        return error;
}
