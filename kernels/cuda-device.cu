/* cuda-device.cu: device discovery, memory and synchronisation behind cuda-device.h. */
#include "cuda-device.h"

#include <errno.h>
#include <stdio.h>

#include "cuda-check.h"

int kernels_device_count(int *ret) {
        int n = 0;

        CUDA_CHECK(cudaGetDeviceCount(&n));
        if (n <= 0)
                return kernels_fail(-ENODEV, "cudaGetDeviceCount: no CUDA device");
        *ret = n;
        return 0;
}

int kernels_device_describe(char *buf, size_t size) {
        cudaDeviceProp p;
        int dev;

        CUDA_CHECK(cudaGetDevice(&dev));
        CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
        snprintf(buf, size, "%s, %zu MiB, sm_%d%d", p.name, p.totalGlobalMem >> 20, p.major, p.minor);
        return 0;
}

int kernels_malloc(void **ret, size_t size) {
        void *p = NULL;

        if (size == 0)
                return kernels_fail(-EINVAL, "kernels_malloc: size 0");
        CUDA_CHECK(cudaMalloc(&p, size));
        *ret = p;
        return 0;
}

void *kernels_free(void *p) {
        if (p && cudaFree(p) != cudaSuccess) /* only for a pointer cudaMalloc did not return */
                (void) cudaGetLastError();      /* not to be reported by the next launch */
        return NULL;
}

int kernels_copy_to_device(void *dst, const void *src, size_t size) {
        CUDA_CHECK(cudaMemcpy(dst, src, size, cudaMemcpyHostToDevice));
        return 0;
}

int kernels_copy_to_host(void *dst, const void *src, size_t size) {
        CUDA_CHECK(cudaMemcpy(dst, src, size, cudaMemcpyDeviceToHost));
        return 0;
}

int kernels_copy_on_device(void *dst, const void *src, size_t size, KernelsStream stream) {
        CUDA_CHECK(cudaMemcpyAsync(dst, src, size, cudaMemcpyDeviceToDevice, stream));
        return 0;
}

int kernels_synchronize(void) {
        CUDA_CHECK(cudaDeviceSynchronize());
        return 0;
}
