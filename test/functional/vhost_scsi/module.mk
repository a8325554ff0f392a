# SPDX-License-Identifier: BSD-3-Clause
# A scriptable virtio-scsi initiator (lib/virtio) for the vhost-scsi functional tests.
APPS += test/functional/vhost_scsi/vscsi-client
test/functional/vhost_scsi/vscsi-client_SRCS := test/functional/vhost_scsi/vscsi-client.c
test/functional/vhost_scsi/vscsi-client_LIBS := virtio util
