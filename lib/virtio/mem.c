/* SPDX-License-Identifier: BSD-3-Clause */
/* Guest memory for the vhost-user frontend: one memfd per region. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/util.h"
#include "virtio_internal.h"

int
virtio_mem_create(const struct virtio_mem_region_spec *specs, uint32_t n, struct virtio_mem **memp)
{
	struct virtio_mem *mem;
	uint32_t i, j;
	int rc;

	if (specs == NULL || n == 0 || n > VIRTIO_MEM_MAX_REGIONS || memp == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (specs[i].size == 0 || (specs[i].size & 4095) || (specs[i].gpa & 4095) ||
		    specs[i].gpa + specs[i].size < specs[i].gpa) {
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (specs[i].gpa < specs[j].gpa + specs[j].size &&
			    specs[j].gpa < specs[i].gpa + specs[i].size) {
				return -EINVAL;
			}
		}
	}
	mem = calloc(1, sizeof(*mem));
	if (mem == NULL) {
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct virtio_mem_region *r = &mem->r[i];

		r->gpa = specs[i].gpa;
		r->size = specs[i].size;
		r->fd = memfd_create("vhostd-virtio-guest", MFD_CLOEXEC);
		if (r->fd < 0) {
			rc = -errno;
			goto err;
		}
		mem->n = i + 1;
		if (ftruncate(r->fd, (off_t)r->size) != 0) {
			rc = -errno;
			goto err;
		}
		r->hva = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			      r->fd, 0);
		if (r->hva == MAP_FAILED) {
			rc = -errno;
			r->hva = NULL;
			goto err;
		}
	}
	*memp = mem;
	return 0;
err:
	VHD_ERRLOG("virtio guest memory: region %u of %u: %s\n", i, n, strerror(-rc));
	virtio_mem_destroy(mem);
	return rc;
}

void
virtio_mem_destroy(struct virtio_mem *mem)
{
	uint32_t i;

	if (mem == NULL) {
		return;
	}
	for (i = 0; i < mem->n; i++) {
		if (mem->r[i].hva != NULL) {
			munmap(mem->r[i].hva, mem->r[i].size);
		}
		if (mem->r[i].fd >= 0) {
			close(mem->r[i].fd);
		}
	}
	free(mem);
}

void *
virtio_mem_alloc_in(struct virtio_mem *mem, uint32_t region, uint64_t size, uint64_t align)
{
	struct virtio_mem_region *r;
	uint64_t off;

	if (mem == NULL || region >= mem->n || size == 0 || !VHD_IS_POW2(align)) {
		return NULL;
	}
	r = &mem->r[region];
	off = VHD_ALIGN_UP(r->bump, align);
	if (off > r->size || size > r->size - off) {
		return NULL;
	}
	r->bump = off + size;
	return r->hva + off;
}

void *
virtio_mem_alloc(struct virtio_mem *mem, uint64_t size, uint64_t align)
{
	uint32_t i;
	void *p;

	for (i = 0; mem != NULL && i < mem->n; i++) {
		p = virtio_mem_alloc_in(mem, i, size, align);
		if (p != NULL) {
			return p;
		}
	}
	return NULL;
}

void *
virtio_mem_gpa_to_hva(const struct virtio_mem *mem, uint64_t gpa, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < mem->n; i++) {
		const struct virtio_mem_region *r = &mem->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa)) {
			return r->hva + (gpa - r->gpa);
		}
	}
	return NULL;
}

int
virtio_mem_hva_to_gpa(const struct virtio_mem *mem, const void *hva, uint64_t *gpa)
{
	const uint8_t *p = hva;
	uint32_t i;

	for (i = 0; i < mem->n; i++) {
		const struct virtio_mem_region *r = &mem->r[i];

		if (p >= r->hva && p < r->hva + r->size) {
			*gpa = r->gpa + (uint64_t)(p - r->hva);
			return 0;
		}
	}
	return -EFAULT;
}

uint32_t
virtio_mem_region_count(const struct virtio_mem *mem)
{
	return mem->n;
}

int
virtio_mem_region_get(const struct virtio_mem *mem, uint32_t i, uint64_t *gpa, uint64_t *size,
		      void **hva)
{
	if (i >= mem->n) {
		return -EINVAL;
	}
	if (gpa) {
		*gpa = mem->r[i].gpa;
	}
	if (size) {
		*size = mem->r[i].size;
	}
	if (hva) {
		*hva = mem->r[i].hva;
	}
	return 0;
}
