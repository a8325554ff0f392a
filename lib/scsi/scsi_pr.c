/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SPC-4 persistent reservations: PERSISTENT RESERVE IN/OUT, the conflict
 * check for every other command, and APTPL state kept in a file.
 *
 * Registrations are keyed by initiator port name (one target port, so the
 * I_T nexus is the initiator name); unit attentions go to every live nexus
 * whose port has that name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/log.h"
#include "vhostd/util.h"
#include "scsi_internal.h"

#define PR_OUT_REGISTER			0x00
#define PR_OUT_RESERVE			0x01
#define PR_OUT_RELEASE			0x02
#define PR_OUT_CLEAR			0x03
#define PR_OUT_PREEMPT			0x04
#define PR_OUT_PREEMPT_AND_ABORT	0x05
#define PR_OUT_REGISTER_AND_IGNORE	0x06

#define PR_IN_READ_KEYS			0x00
#define PR_IN_READ_RESERVATION		0x01
#define PR_IN_REPORT_CAPABILITIES	0x02
#define PR_IN_READ_FULL_STATUS		0x03

#define PR_FILE_MAX			(1024 * 1024)

static bool
pr_type_valid(uint8_t type)
{
	switch (type) {
	case SCSI_PR_WRITE_EXCLUSIVE:
	case SCSI_PR_EXCLUSIVE_ACCESS:
	case SCSI_PR_WRITE_EXCLUSIVE_RO:
	case SCSI_PR_EXCLUSIVE_ACCESS_RO:
	case SCSI_PR_WRITE_EXCLUSIVE_AR:
	case SCSI_PR_EXCLUSIVE_ACCESS_AR:
		return true;
	default:
		return false;
	}
}

static bool
pr_type_all_reg(uint8_t type)
{
	return type == SCSI_PR_WRITE_EXCLUSIVE_AR || type == SCSI_PR_EXCLUSIVE_ACCESS_AR;
}

static bool
pr_type_reg_only(uint8_t type)
{
	return type == SCSI_PR_WRITE_EXCLUSIVE_RO || type == SCSI_PR_EXCLUSIVE_ACCESS_RO;
}

static struct scsi_pr_reg *
pr_find(struct scsi_pr *pr, const char *name)
{
	struct scsi_pr_reg *r;

	TAILQ_FOREACH(r, &pr->regs, link) {
		if (strcmp(r->name, name) == 0) {
			return r;
		}
	}
	return NULL;
}

static bool
pr_is_holder(const struct scsi_pr *pr, const struct scsi_pr_reg *reg)
{
	if (pr->type == SCSI_PR_NONE || reg == NULL) {
		return false;
	}
	return pr_type_all_reg(pr->type) || pr->holder == reg;
}

static void
pr_release(struct scsi_pr *pr)
{
	pr->type = SCSI_PR_NONE;
	pr->holder = NULL;
}

/* Remove a registration; the reservation goes with its (last) holder. */
static void
pr_remove_reg(struct scsi_pr *pr, struct scsi_pr_reg *reg)
{
	TAILQ_REMOVE(&pr->regs, reg, link);
	pr->num_regs--;
	if (pr->holder == reg) {
		pr_release(pr);
	} else if (pr_type_all_reg(pr->type) && pr->num_regs == 0) {
		pr_release(pr);
	}
	free(reg);
}

/* ---- APTPL persistence ---- */

static int
pr_save(struct scsi_lun *lun)
{
	struct scsi_pr *pr = &lun->pr;
	struct scsi_pr_reg *r;
	size_t cap = 128 + (size_t)pr->num_regs * (SCSI_PORT_MAX_NAME + 32), len = 0;
	int holder = -1, i = 0, rc;
	char *buf;

	if (pr->path == NULL) {
		return 0;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		return -ENOMEM;
	}
	TAILQ_FOREACH(r, &pr->regs, link) {
		if (r == pr->holder) {
			holder = i;
		}
		i++;
	}
	len += snprintf(buf + len, cap - len, "vhostd-pr 1\naptpl %d\n", pr->aptpl ? 1 : 0);
	if (pr->aptpl) {
		len += snprintf(buf + len, cap - len, "generation %u\ntype %u\nholder %d\n",
				pr->generation, pr->type, holder);
		TAILQ_FOREACH(r, &pr->regs, link) {
			len += snprintf(buf + len, cap - len, "reg 0x%016" PRIx64 " %s\n", r->key,
					r->name);
		}
	}
	rc = util_file_write_atomic(pr->path, buf, len, 0600);
	free(buf);
	if (rc != 0) {
		VHD_ERRLOG("scsi %s: LUN %u: cannot save reservations to %s: %d\n",
			   lun->dev->name, lun->id, pr->path, rc);
	}
	return rc;
}

static int
pr_load(struct scsi_lun *lun)
{
	struct scsi_pr *pr = &lun->pr;
	struct scsi_pr_reg *r, *holder = NULL;
	char *buf, *line, *save = NULL, *name;
	int holder_idx = -1, idx = 0, rc;
	unsigned int v;
	uint64_t key;
	size_t len;

	rc = util_file_read(pr->path, &buf, &len, PR_FILE_MAX);
	if (rc == -ENOENT) {
		return 0;
	}
	if (rc != 0) {
		VHD_ERRLOG("scsi: cannot read reservation file %s: %d\n", pr->path, rc);
		return rc;
	}
	rc = -EINVAL;
	line = strtok_r(buf, "\n", &save);
	if (line == NULL || strcmp(line, "vhostd-pr 1") != 0) {
		goto out;
	}
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if (sscanf(line, "aptpl %u", &v) == 1) {
			pr->aptpl = v != 0;
		} else if (sscanf(line, "generation %u", &v) == 1) {
			pr->generation = v;
		} else if (sscanf(line, "type %u", &v) == 1) {
			if (v != SCSI_PR_NONE && !pr_type_valid(v)) {
				goto out;
			}
			pr->type = v;
		} else if (sscanf(line, "holder %d", &holder_idx) == 1) {
			continue;
		} else if (strncmp(line, "reg ", 4) == 0) {
			key = strtoull(line + 4, &name, 16);
			if (*name != ' ' || strlen(name + 1) == 0 ||
			    strlen(name + 1) > SCSI_PORT_MAX_NAME ||
			    pr->num_regs >= SCSI_PR_MAX_REGISTRANTS) {
				goto out;
			}
			r = calloc(1, sizeof(*r));
			if (r == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			r->key = key;
			snprintf(r->name, sizeof(r->name), "%s", name + 1);
			TAILQ_INSERT_TAIL(&pr->regs, r, link);
			if (idx++ == holder_idx) {
				holder = r;
			}
			pr->num_regs++;
		} else {
			goto out;
		}
	}
	if (!pr->aptpl) {
		/* state was not meant to persist: start empty */
		while ((r = TAILQ_FIRST(&pr->regs)) != NULL) {
			pr_remove_reg(pr, r);
		}
		pr_release(pr);
		pr->generation = 0;
	} else if (pr->type != SCSI_PR_NONE && !pr_type_all_reg(pr->type)) {
		if (holder == NULL) {
			goto out;
		}
		pr->holder = holder;
	} else if (pr->type != SCSI_PR_NONE && pr->num_regs == 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		VHD_ERRLOG("scsi: bad reservation file %s\n", pr->path);
	}
	free(buf);
	return rc;
}

int
scsi_pr_init(struct scsi_lun *lun, const char *path)
{
	int rc;

	TAILQ_INIT(&lun->pr.regs);
	if (path == NULL) {
		return 0;
	}
	lun->pr.path = strdup(path);
	if (lun->pr.path == NULL) {
		return -ENOMEM;
	}
	rc = pr_load(lun);
	if (rc != 0) {
		return -EINVAL;
	}
	return 0;
}

void
scsi_pr_fini(struct scsi_lun *lun)
{
	struct scsi_pr_reg *r;

	while ((r = TAILQ_FIRST(&lun->pr.regs)) != NULL) {
		TAILQ_REMOVE(&lun->pr.regs, r, link);
		free(r);
	}
	lun->pr.num_regs = 0;
	lun->pr.holder = NULL;
	free(lun->pr.path);
	lun->pr.path = NULL;
}

/* ---- conflict check for other commands ---- */

bool
scsi_pr_check(struct scsi_task *task)
{
	struct scsi_pr *pr = &task->lun->pr;
	struct scsi_pr_reg *reg;
	uint8_t type = pr->type;
	bool read = false;

	if (type == SCSI_PR_NONE) {
		return false;
	}
	reg = pr_find(pr, task->initiator_port->name);
	if (pr_is_holder(pr, reg)) {
		return false;
	}
	switch (task->cdb[0]) {
	case SPC_INQUIRY:
	case SPC_REPORT_LUNS:
	case SPC_REQUEST_SENSE:
	case SPC_TEST_UNIT_READY:
	case SBC_READ_CAPACITY_10:
	case SPC_SERVICE_ACTION_IN_16:
	case SPC_MAINTENANCE_IN:
	case SPC_PERSISTENT_RESERVE_IN:
	case SPC_PERSISTENT_RESERVE_OUT:	/* decided by the service action */
	case SBC_START_STOP_UNIT:
		return false;
	case SPC_MODE_SENSE_6:
	case SPC_MODE_SENSE_10:
	case SPC_MODE_SELECT_6:
	case SPC_MODE_SELECT_10:
		if (reg != NULL) {
			return false;
		}
		goto conflict;
	case SBC_READ_6:
	case SBC_READ_10:
	case SBC_READ_12:
	case SBC_READ_16:
	case SBC_VERIFY_10:
	case SBC_VERIFY_16:
		read = true;
		break;
	default:
		break;
	}
	switch (type) {
	case SCSI_PR_WRITE_EXCLUSIVE:
		if (read) {
			return false;
		}
		break;
	case SCSI_PR_EXCLUSIVE_ACCESS:
		break;
	case SCSI_PR_WRITE_EXCLUSIVE_RO:
	case SCSI_PR_WRITE_EXCLUSIVE_AR:
		if (read || reg != NULL) {
			return false;
		}
		break;
	case SCSI_PR_EXCLUSIVE_ACCESS_RO:
	case SCSI_PR_EXCLUSIVE_ACCESS_AR:
		if (reg != NULL) {
			return false;
		}
		break;
	default:
		return false;
	}
conflict:
	task->status = SCSI_STATUS_RESERVATION_CONFLICT;
	task->sense_len = 0;
	return true;
}

/* ---- PERSISTENT RESERVE IN ---- */

static uint32_t
pr_transport_id(const char *name, uint8_t *p)
{
	uint32_t n = (uint32_t)strlen(name) + 1;
	uint32_t padded = VHD_ALIGN_UP(VHD_MAX(n, 20u), 4u);

	/* iSCSI-name format TransportID (protocol identifier 5h) */
	memset(p, 0, 4 + padded);
	p[0] = 0x05;
	scsi_put16(&p[2], padded);
	memcpy(&p[4], name, n - 1);
	return 4 + padded;
}

enum scsi_exec
scsi_pr_in(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	struct scsi_pr *pr = &lun->pr;
	uint32_t alloc = scsi_get16(&task->cdb[7]);
	uint8_t sa = task->cdb[1] & 0x1f;
	struct scsi_pr_reg *r;
	uint32_t off = 8, cap;
	uint8_t *buf;

	if (sa > PR_IN_READ_FULL_STATUS) {
		scsi_task_invalid_field(task, true, 1, 4);
		return SCSI_EXEC_COMPLETE;
	}
	cap = 8 + (pr->num_regs + 1) * (24 + 4 + SCSI_PORT_MAX_NAME + 24);
	buf = calloc(1, cap);
	if (buf == NULL) {
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_EXEC_COMPLETE;
	}
	scsi_put32(buf, pr->generation);
	switch (sa) {
	case PR_IN_READ_KEYS:
		TAILQ_FOREACH(r, &pr->regs, link) {
			scsi_put64(&buf[off], r->key);
			off += 8;
		}
		scsi_put32(&buf[4], off - 8);
		break;
	case PR_IN_READ_RESERVATION:
		if (pr->type != SCSI_PR_NONE) {
			scsi_put64(&buf[8], pr->holder != NULL ? pr->holder->key : 0);
			buf[21] = pr->type;	/* scope 0: logical unit */
			off += 16;
		}
		scsi_put32(&buf[4], off - 8);
		break;
	case PR_IN_REPORT_CAPABILITIES:
		memset(buf, 0, 8);
		scsi_put16(&buf[0], 8);
		buf[2] = pr->path != NULL ? 0x01 : 0;		/* PTPL_C */
		buf[3] = 0x80 | (pr->aptpl ? 0x01 : 0);		/* TMV, PTPL_A */
		/* types: WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX, then EX_AC_AR */
		buf[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
		buf[5] = 0x01;					/* EX_AC_AR */
		off = 8;
		break;
	case PR_IN_READ_FULL_STATUS:
		TAILQ_FOREACH(r, &pr->regs, link) {
			uint8_t *d = &buf[off];
			uint32_t tid;

			scsi_put64(d, r->key);
			if (pr_is_holder(pr, r)) {
				d[12] = 0x01;		/* R_HOLDER */
				d[13] = pr->type;
			}
			scsi_put16(&d[18], 1);		/* relative target port 1 */
			tid = pr_transport_id(r->name, &d[24]);
			scsi_put32(&d[20], tid);
			off += 24 + tid;
		}
		scsi_put32(&buf[4], off - 8);
		break;
	default:
		break;
	}
	scsi_task_data_in(task, buf, VHD_MIN(off, alloc));
	free(buf);
	return SCSI_EXEC_COMPLETE;
}

/* ---- PERSISTENT RESERVE OUT ---- */

static enum scsi_exec
pr_conflict(struct scsi_task *task)
{
	task->status = SCSI_STATUS_RESERVATION_CONFLICT;
	task->sense_len = 0;
	return SCSI_EXEC_COMPLETE;
}

/*
 * Remove every registration with `key` except `self`; their nexuses get
 * REGISTRATIONS PREEMPTED and, for PREEMPT AND ABORT, lose their tasks.
 * all: remove every other registration whatever its key. Returns how many.
 */
static uint32_t
pr_preempt_regs(struct scsi_task *task, struct scsi_pr_reg *self, uint64_t key, bool all,
		bool abort)
{
	struct scsi_lun *lun = task->lun;
	struct scsi_pr *pr = &lun->pr;
	struct scsi_pr_reg *r, *tmp;
	uint32_t n = 0;

	TAILQ_FOREACH_SAFE(r, &pr->regs, link, tmp) {
		if (r == self || (!all && r->key != key)) {
			continue;
		}
		scsi_lun_set_ua_port_name(lun, SCSI_UA_REG_PREEMPTED, r->name,
					  task->initiator_port);
		if (abort) {
			scsi_lun_abort_port_name(lun, r->name, task);
		}
		TAILQ_REMOVE(&pr->regs, r, link);
		pr->num_regs--;
		if (pr->holder == r) {
			pr->holder = NULL;
		}
		free(r);
		n++;
	}
	return n;
}

static void
pr_ua_other_regs(struct scsi_task *task, enum scsi_ua ua, const struct scsi_pr_reg *self)
{
	struct scsi_pr_reg *r;

	TAILQ_FOREACH(r, &task->lun->pr.regs, link) {
		if (r != self) {
			scsi_lun_set_ua_port_name(task->lun, ua, r->name, task->initiator_port);
		}
	}
}

enum scsi_exec
scsi_pr_out(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	struct scsi_pr *pr = &lun->pr;
	const uint8_t *cdb = task->cdb;
	uint8_t sa = cdb[1] & 0x1f, scope = cdb[2] >> 4, type = cdb[2] & 0x0f;
	uint32_t plen = scsi_get32(&cdb[5]);
	struct scsi_pr_reg *reg, *r;
	uint64_t key, sakey;
	bool aptpl, changed = false;
	uint8_t p[24];
	uint32_t n;

	if (sa > PR_OUT_REGISTER_AND_IGNORE) {
		scsi_task_invalid_field(task, true, 1, 4);	/* incl. REGISTER AND MOVE */
		return SCSI_EXEC_COMPLETE;
	}
	if (sa == PR_OUT_RESERVE || sa == PR_OUT_RELEASE || sa == PR_OUT_PREEMPT ||
	    sa == PR_OUT_PREEMPT_AND_ABORT) {
		if (scope != 0) {
			scsi_task_invalid_field(task, true, 2, 7);
			return SCSI_EXEC_COMPLETE;
		}
		if (!pr_type_valid(type)) {
			scsi_task_invalid_field(task, true, 2, 3);
			return SCSI_EXEC_COMPLETE;
		}
	}
	if (plen != sizeof(p)) {
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
				    SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return SCSI_EXEC_COMPLETE;
	}
	if (scsi_task_data_out(task, 0, p, sizeof(p)) < sizeof(p)) {
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
				    SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return SCSI_EXEC_COMPLETE;
	}
	task->data_transferred = sizeof(p);
	key = scsi_get64(&p[0]);
	sakey = scsi_get64(&p[8]);
	aptpl = p[20] & 0x01;
	if (p[20] & 0x08) {
		scsi_task_invalid_field(task, false, 20, 3);	/* SPEC_I_PT: SIP_C=0 */
		return SCSI_EXEC_COMPLETE;
	}
	if (p[20] & 0x04) {
		scsi_task_invalid_field(task, false, 20, 2);	/* ALL_TG_PT: ATP_C=0 */
		return SCSI_EXEC_COMPLETE;
	}
	reg = pr_find(pr, task->initiator_port->name);

	switch (sa) {
	case PR_OUT_REGISTER:
	case PR_OUT_REGISTER_AND_IGNORE:
		if (aptpl && pr->path == NULL) {
			scsi_task_invalid_field(task, false, 20, 0);	/* PTPL_C=0 */
			return SCSI_EXEC_COMPLETE;
		}
		if (reg == NULL) {
			if (sa == PR_OUT_REGISTER && key != 0) {
				return pr_conflict(task);
			}
			if (sakey == 0) {
				return SCSI_EXEC_COMPLETE;
			}
			if (pr->num_regs >= SCSI_PR_MAX_REGISTRANTS) {
				scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
						    SCSI_ASC_INSUFFICIENT_REG_RESOURCES);
				return SCSI_EXEC_COMPLETE;
			}
			r = calloc(1, sizeof(*r));
			if (r == NULL) {
				scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
						    SCSI_ASC_INSUFFICIENT_REG_RESOURCES);
				return SCSI_EXEC_COMPLETE;
			}
			r->key = sakey;
			memcpy(r->name, task->initiator_port->name, sizeof(r->name));
			TAILQ_INSERT_TAIL(&pr->regs, r, link);
			pr->num_regs++;
		} else {
			if (sa == PR_OUT_REGISTER && key != reg->key) {
				return pr_conflict(task);
			}
			if (sakey == 0) {
				uint8_t old_type = pr->type;
				bool was_holder = pr->holder == reg;

				pr_remove_reg(pr, reg);
				if (was_holder && pr_type_reg_only(old_type)) {
					pr_ua_other_regs(task, SCSI_UA_RES_RELEASED, NULL);
				}
			} else {
				reg->key = sakey;
			}
		}
		pr->generation++;
		pr->aptpl = aptpl;
		changed = true;
		break;
	case PR_OUT_RESERVE:
		if (reg == NULL || key != reg->key) {
			return pr_conflict(task);
		}
		if (pr->type == SCSI_PR_NONE) {
			pr->type = type;
			pr->holder = pr_type_all_reg(type) ? NULL : reg;
			changed = true;
		} else if (!pr_is_holder(pr, reg) || pr->type != type) {
			return pr_conflict(task);
		}
		break;
	case PR_OUT_RELEASE:
		if (reg == NULL || key != reg->key) {
			return pr_conflict(task);
		}
		if (!pr_is_holder(pr, reg)) {
			return SCSI_EXEC_COMPLETE;
		}
		if (pr->type != type) {
			scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
					    SCSI_ASC_INVALID_RELEASE_OF_PR);
			return SCSI_EXEC_COMPLETE;
		}
		if (pr_type_reg_only(pr->type) || pr_type_all_reg(pr->type)) {
			pr_ua_other_regs(task, SCSI_UA_RES_RELEASED, reg);
		}
		pr_release(pr);
		changed = true;
		break;
	case PR_OUT_CLEAR:
		if (reg == NULL || key != reg->key) {
			return pr_conflict(task);
		}
		pr_ua_other_regs(task, SCSI_UA_RES_PREEMPTED, reg);
		while ((r = TAILQ_FIRST(&pr->regs)) != NULL) {
			TAILQ_REMOVE(&pr->regs, r, link);
			free(r);
		}
		pr->num_regs = 0;
		pr_release(pr);
		pr->generation++;
		changed = true;
		break;
	case PR_OUT_PREEMPT:
	case PR_OUT_PREEMPT_AND_ABORT: {
		bool abort = sa == PR_OUT_PREEMPT_AND_ABORT;

		if (reg == NULL || key != reg->key) {
			return pr_conflict(task);
		}
		if (pr->type == SCSI_PR_NONE) {
			if (sakey == 0) {
				scsi_task_invalid_field(task, false, 8, -1);
				return SCSI_EXEC_COMPLETE;
			}
			if (pr_preempt_regs(task, reg, sakey, false, abort) == 0) {
				return pr_conflict(task);
			}
		} else if (pr_type_all_reg(pr->type)) {
			if (sakey == 0) {
				pr_preempt_regs(task, reg, 0, true, abort);
				pr->type = type;
				pr->holder = pr_type_all_reg(type) ? NULL : reg;
			} else if (pr_preempt_regs(task, reg, sakey, false, abort) == 0) {
				return pr_conflict(task);
			}
		} else if (pr->holder != NULL && sakey == pr->holder->key) {
			uint8_t old_type = pr->type;

			pr_preempt_regs(task, reg, sakey, false, abort);
			pr->type = type;
			pr->holder = pr_type_all_reg(type) ? NULL : reg;
			if (old_type != type) {
				pr_ua_other_regs(task, SCSI_UA_RES_RELEASED, reg);
			}
		} else {
			if (sakey == 0) {
				scsi_task_invalid_field(task, false, 8, -1);
				return SCSI_EXEC_COMPLETE;
			}
			n = pr_preempt_regs(task, reg, sakey, false, abort);
			if (n == 0) {
				return pr_conflict(task);
			}
		}
		pr->generation++;
		changed = true;
		break;
	}
	default:
		break;
	}
	if (changed && (pr->aptpl || sa == PR_OUT_REGISTER || sa == PR_OUT_REGISTER_AND_IGNORE)) {
		pr_save(lun);
	}
	return SCSI_EXEC_COMPLETE;
}
