/* cuda-device.h: the device, its memory and streams, for C callers that include no CUDA header.
 * Every function returns 0 or a negative errno; the reason is in kernels_last_error(). */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A CUDA stream (the same type as cudaStream_t); NULL is the default stream. Every op is queued on
 * the stream it is given and returns before it ran: a fault inside a kernel is reported by a later
 * synchronisation (kernels_synchronize) as -EIO. */
typedef struct CUstream_st *KernelsStream;

/* Number of usable CUDA devices in *ret (> 0), or -ENODEV when there is no driver or no device. */
int kernels_device_count(int *ret);
/* "NAME, N MiB, sm_XY" of the current device into buf (truncated to size). */
int kernels_device_describe(char *buf, size_t size);

/* Device memory (plain cudaMalloc, never managed memory). kernels_free accepts NULL, returns NULL. */
int kernels_malloc(void **ret, size_t size);
void *kernels_free(void *p);

/* Synchronous copies between host and device memory. */
int kernels_copy_to_device(void *dst, const void *src, size_t size);
int kernels_copy_to_host(void *dst, const void *src, size_t size);

/* A device-to-device copy queued on stream (the bandwidth reference of bench-kernels). */
int kernels_copy_on_device(void *dst, const void *src, size_t size, KernelsStream stream);

/* Waits until all queued work on the device is done; reports a fault of any of it. */
int kernels_synchronize(void);

#ifdef __cplusplus
}
#endif
