/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/scsi/scsi_pr.c: PERSISTENT RESERVE IN/OUT, the reservation conflict
 * table for every type x initiator role x read/write, APTPL files.
 */
#include "scsi_ut_common.h"

#define SA_REGISTER		0
#define SA_RESERVE		1
#define SA_RELEASE		2
#define SA_CLEAR		3
#define SA_PREEMPT		4
#define SA_PREEMPT_ABORT	5
#define SA_REGISTER_IGNORE	6

static uint8_t g_buf[65536];
static struct scsi_port g_port3;
static char g_pr_path[64];

static struct scsi_task *
pr_out_full(struct scsi_port *port, uint8_t sa, uint8_t scope_type, uint64_t key,
	    uint64_t sakey, uint8_t flags, uint32_t plen)
{
	static uint8_t p[64];
	uint8_t cdb[10] = {SPC_PERSISTENT_RESERVE_OUT};

	cdb[1] = sa;
	cdb[2] = scope_type;
	scsi_put32(&cdb[5], plen);
	memset(p, 0, sizeof(p));
	scsi_put64(&p[0], key);
	scsi_put64(&p[8], sakey);
	p[20] = flags;
	return ut_exec_port(port, 0, cdb, 10, SCSI_DIR_TO_DEV, p, 24);
}

static uint8_t
pr_out(struct scsi_port *port, uint8_t sa, uint8_t type, uint64_t key, uint64_t sakey)
{
	return pr_out_full(port, sa, type, key, sakey, 0, 24)->status;
}

static struct scsi_task *
pr_in(struct scsi_port *port, uint8_t sa, uint16_t alloc)
{
	uint8_t cdb[10] = {SPC_PERSISTENT_RESERVE_IN};

	cdb[1] = sa;
	scsi_put16(&cdb[7], alloc);
	memset(g_buf, 0xee, 4096);
	return ut_exec_port(port, 0, cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 4096);
}

static uint8_t
do_read(struct scsi_port *port)
{
	static uint8_t b[512];
	uint8_t cdb[10] = {SBC_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};

	return ut_exec_port(port, 0, cdb, 10, SCSI_DIR_FROM_DEV, b, 512)->status;
}

static uint8_t
do_write(struct scsi_port *port)
{
	static uint8_t b[512];
	uint8_t cdb[10] = {SBC_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};

	return ut_exec_port(port, 0, cdb, 10, SCSI_DIR_TO_DEV, b, 512)->status;
}

static int
pr_setup(void **state)
{
	ut_setup(state);
	snprintf(g_pr_path, sizeof(g_pr_path), "/tmp/vhostd_scsi_pr_ut.%d.pr", (int)getpid());
	scsi_port_init(&g_port3, 3, "iqn.2026-01.test:host3");
	ut_clear_ua(&g_port3, 0);
	return 0;
}

#define PR_TEST(fn) cmocka_unit_test_setup_teardown(fn, pr_setup, ut_teardown)

#define GOOD SCSI_STATUS_GOOD
#define CONFLICT SCSI_STATUS_RESERVATION_CONFLICT

static void
test_pr_register(void **state)
{
	struct scsi_task *t;

	/* READ KEYS: empty */
	t = pr_in(&g_port, 0, 4096);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 8);
	assert_memory_equal(g_buf, ((uint8_t[8]){0, 0, 0, 0, 0, 0, 0, 0}), 8);
	/* unregistered nexus with a non-zero key: conflict */
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0x11, 0xaa), CONFLICT);
	/* unregistered, service action key 0: nothing happens */
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0), GOOD);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(g_buf), 0);
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xaa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xbb), GOOD);
	t = pr_in(&g_port, 0, 4096);
	assert_int_equal(t->data_transferred, 24);
	assert_memory_equal(g_buf, ((uint8_t[24]){0, 0, 0, 2, 0, 0, 0, 16,
						   0, 0, 0, 0, 0, 0, 0, 0xaa,
						   0, 0, 0, 0, 0, 0, 0, 0xbb}), 24);
	/* truncation */
	t = pr_in(&g_port, 0, 12);
	assert_int_equal(t->data_transferred, 12);
	assert_int_equal(g_buf[12], 0xee);
	/* registered, wrong key: conflict; right key: change */
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0x12, 0xcc), CONFLICT);
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0xaa, 0xcc), GOOD);
	/* REGISTER AND IGNORE EXISTING KEY */
	assert_int_equal(pr_out(&g_port, SA_REGISTER_IGNORE, 0, 0x999, 0xdd), GOOD);
	assert_int_equal(pr_out(&g_port3, SA_REGISTER_IGNORE, 0, 0x999, 0xee), GOOD);
	assert_int_equal(pr_out(&g_port3, SA_REGISTER_IGNORE, 0, 0, 0), GOOD);	/* unregister */
	t = pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(g_buf), 6);
	assert_int_equal(scsi_get32(&g_buf[4]), 16);
	assert_int_equal(scsi_get64(&g_buf[8]), 0xdd);
	/* unregister with REGISTER */
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0xdd, 0), GOOD);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 8);
	assert_int_equal(scsi_get64(&g_buf[8]), 0xbb);
	/* unregistered + REGISTER AND IGNORE with key 0: nothing */
	assert_int_equal(pr_out(&g_port, SA_REGISTER_IGNORE, 0, 0, 0), GOOD);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(g_buf), 7);
}

static void
test_pr_reserve_release(void **state)
{
	struct scsi_task *t;

	/* unregistered cannot reserve */
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE, 0, 0), CONFLICT);
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	/* wrong key */
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE, 0xb, 0), CONFLICT);
	/* READ RESERVATION: none */
	t = pr_in(&g_port, 1, 4096);
	assert_int_equal(t->data_transferred, 8);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0), GOOD);
	t = pr_in(&g_port2, 1, 4096);
	assert_int_equal(t->data_transferred, 24);
	assert_memory_equal(g_buf, ((uint8_t[24]){0, 0, 0, 2, 0, 0, 0, 16,
						   0, 0, 0, 0, 0, 0, 0, 0x0a,
						   0, 0, 0, 0, 0, 0x01, 0, 0}), 24);
	/* holder again, same type: fine; other type: conflict */
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0), GOOD);
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0), CONFLICT);
	/* another registrant: conflict */
	assert_int_equal(pr_out(&g_port2, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE, 0xb, 0), CONFLICT);
	/* RELEASE by a non-holder: no effect */
	assert_int_equal(pr_out(&g_port2, SA_RELEASE, SCSI_PR_WRITE_EXCLUSIVE, 0xb, 0), GOOD);
	assert_int_equal(pr_out(&g_port3, SA_RELEASE, SCSI_PR_WRITE_EXCLUSIVE, 0, 0), CONFLICT);
	assert_int_equal(pr_out(&g_port2, SA_RELEASE, SCSI_PR_WRITE_EXCLUSIVE, 0xc, 0), CONFLICT);
	/* holder with the wrong type */
	ut_assert_sense(pr_out_full(&g_port, SA_RELEASE, SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0, 0, 24),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x26, 0x04);
	assert_int_equal(pr_out(&g_port, SA_RELEASE, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0), GOOD);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
	/* no reservation: RELEASE is fine */
	assert_int_equal(pr_out(&g_port, SA_RELEASE, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0), GOOD);
	/* registrants-only: release tells the other registrants */
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE_RO, 0xa, 0), GOOD);
	assert_int_equal(pr_out(&g_port, SA_RELEASE, SCSI_PR_WRITE_EXCLUSIVE_RO, 0xa, 0), GOOD);
	ut_assert_sense(ut_exec_port(&g_port2, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x04);
	ut_assert_good(ut_exec_port(&g_port, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0));
	ut_assert_good(ut_exec_port(&g_port3, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0));
	/* all-registrants: key reported 0, any registrant holds it */
	assert_int_equal(pr_out(&g_port2, SA_RESERVE, SCSI_PR_EXCLUSIVE_ACCESS_AR, 0xb, 0), GOOD);
	t = pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get64(&g_buf[8]), 0);
	assert_int_equal(g_buf[21], SCSI_PR_EXCLUSIVE_ACCESS_AR);
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_EXCLUSIVE_ACCESS_AR, 0xa, 0), GOOD);
	assert_int_equal(pr_out(&g_port, SA_RELEASE, SCSI_PR_EXCLUSIVE_ACCESS_AR, 0xa, 0), GOOD);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
	/* unregistering the holder drops the reservation */
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_EXCLUSIVE_ACCESS_RO, 0xa, 0), GOOD);
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0xa, 0), GOOD);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
	ut_assert_sense(ut_exec_port(&g_port2, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x04);
	/* AR: the reservation lasts until the last registrant leaves */
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE_AR, 0xa, 0), GOOD);
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0xa, 0), GOOD);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 16);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0xb, 0), GOOD);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
}

/* Expected outcome of READ / WRITE for each type and role (SPC-4 table 13x). */
static void
test_pr_conflict_table(void **state)
{
	static const struct {
		uint8_t type;
		uint8_t holder_r, holder_w, reg_r, reg_w, unreg_r, unreg_w;
	} table[] = {
		{SCSI_PR_WRITE_EXCLUSIVE, GOOD, GOOD, GOOD, CONFLICT, GOOD, CONFLICT},
		{SCSI_PR_EXCLUSIVE_ACCESS, GOOD, GOOD, CONFLICT, CONFLICT, CONFLICT, CONFLICT},
		{SCSI_PR_WRITE_EXCLUSIVE_RO, GOOD, GOOD, GOOD, GOOD, GOOD, CONFLICT},
		{SCSI_PR_EXCLUSIVE_ACCESS_RO, GOOD, GOOD, GOOD, GOOD, CONFLICT, CONFLICT},
		{SCSI_PR_WRITE_EXCLUSIVE_AR, GOOD, GOOD, GOOD, GOOD, GOOD, CONFLICT},
		{SCSI_PR_EXCLUSIVE_ACCESS_AR, GOOD, GOOD, GOOD, GOOD, CONFLICT, CONFLICT},
	};
	uint8_t inq[6] = {SPC_INQUIRY, 0, 0, 0, 36, 0};
	uint8_t ms[6] = {SPC_MODE_SENSE_6, 0, 0x08, 0, 255, 0};
	uint8_t rc[10] = {SBC_READ_CAPACITY_10};
	size_t i;

	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	for (i = 0; i < VHD_COUNTOF(table); i++) {
		assert_int_equal(pr_out(&g_port, SA_RESERVE, table[i].type, 0xa, 0), GOOD);
		assert_int_equal(do_read(&g_port), table[i].holder_r);
		assert_int_equal(do_write(&g_port), table[i].holder_w);
		assert_int_equal(do_read(&g_port2), table[i].reg_r);
		assert_int_equal(do_write(&g_port2), table[i].reg_w);
		assert_int_equal(do_read(&g_port3), table[i].unreg_r);
		assert_int_equal(do_write(&g_port3), table[i].unreg_w);
		/* always allowed */
		ut_assert_good(ut_exec_port(&g_port3, 0, inq, 6, SCSI_DIR_FROM_DEV, g_buf, 36));
		ut_assert_good(ut_exec_port(&g_port3, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL,
					    0));
		ut_assert_good(ut_exec_port(&g_port3, 0, rc, 10, SCSI_DIR_FROM_DEV, g_buf, 8));
		ut_assert_good(pr_in(&g_port3, 0, 4096));
		/* MODE SENSE: registrants only */
		assert_int_equal(ut_exec_port(&g_port3, 0, ms, 6, SCSI_DIR_FROM_DEV, g_buf,
					      255)->status, CONFLICT);
		ut_assert_good(ut_exec_port(&g_port2, 0, ms, 6, SCSI_DIR_FROM_DEV, g_buf, 255));
		/* conflict status carries no sense */
		assert_int_equal(g_cmd.task.sense_len, 0);
		assert_int_equal(pr_out(&g_port, SA_RELEASE, table[i].type, 0xa, 0), GOOD);
		ut_clear_ua(&g_port2, 0);
	}
}

/* Reset to: port1 key 0xa holds `type`, port2 registered with 0xb, port3 unregistered. */
static void
pr_table_state(uint8_t type)
{
	ut_clear_ua(&g_port, 0);
	assert_int_equal(pr_out(&g_port, SA_REGISTER_IGNORE, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port, SA_CLEAR, 0, 0xa, 0), GOOD);
	ut_clear_ua(&g_port, 0);
	ut_clear_ua(&g_port2, 0);
	ut_clear_ua(&g_port3, 0);
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	assert_int_equal(pr_out(&g_port, SA_RESERVE, type, 0xa, 0), GOOD);
}

/* Additional length of READ RESERVATION (16: a reservation exists) and its key. */
static void
pr_expect_reservation(bool exists, uint8_t type, uint64_t key)
{
	/* port3 is only an observer here (it may have registered and heard news) */
	ut_clear_ua(&g_port3, 0);
	ut_assert_good(pr_in(&g_port3, 1, 4096));
	assert_int_equal(scsi_get32(&g_buf[4]), exists ? 16 : 0);
	if (exists) {
		assert_int_equal(scsi_get64(&g_buf[8]), key);
		assert_int_equal(g_buf[21], type);
	}
}

/* Every PR OUT action x every reservation type x holder / registrant / unregistered. */
static void
test_pr_action_table(void **state)
{
	static const uint8_t types[] = {SCSI_PR_WRITE_EXCLUSIVE, SCSI_PR_EXCLUSIVE_ACCESS,
					SCSI_PR_WRITE_EXCLUSIVE_RO, SCSI_PR_EXCLUSIVE_ACCESS_RO,
					SCSI_PR_WRITE_EXCLUSIVE_AR, SCSI_PR_EXCLUSIVE_ACCESS_AR};
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		uint8_t ty = types[i];
		bool ar = ty == SCSI_PR_WRITE_EXCLUSIVE_AR || ty == SCSI_PR_EXCLUSIVE_ACCESS_AR;
		uint64_t hkey = ar ? 0 : 0xa;

		/* RESERVE */
		pr_table_state(ty);
		assert_int_equal(pr_out(&g_port, SA_RESERVE, ty, 0xa, 0), GOOD);
		assert_int_equal(pr_out(&g_port2, SA_RESERVE, ty, 0xb, 0), ar ? GOOD : CONFLICT);
		assert_int_equal(pr_out(&g_port3, SA_RESERVE, ty, 0, 0), CONFLICT);
		pr_expect_reservation(true, ty, hkey);
		/* RELEASE: unregistered conflicts, registrant is a no-op unless it holds (AR) */
		assert_int_equal(pr_out(&g_port3, SA_RELEASE, ty, 0, 0), CONFLICT);
		assert_int_equal(pr_out(&g_port2, SA_RELEASE, ty, 0xb, 0), GOOD);
		pr_expect_reservation(!ar, ty, hkey);
		pr_table_state(ty);
		assert_int_equal(pr_out(&g_port, SA_RELEASE, ty, 0xa, 0), GOOD);
		pr_expect_reservation(false, ty, 0);
		/* CLEAR from a registrant (even a non-holder) */
		pr_table_state(ty);
		assert_int_equal(pr_out(&g_port3, SA_CLEAR, 0, 0, 0), CONFLICT);
		assert_int_equal(pr_out(&g_port2, SA_CLEAR, 0, 0xb, 0), GOOD);
		pr_expect_reservation(false, ty, 0);
		pr_in(&g_port2, 0, 4096);
		assert_int_equal(scsi_get32(&g_buf[4]), 0);
		/* PREEMPT the holder's key from the registrant */
		pr_table_state(ty);
		assert_int_equal(pr_out(&g_port3, SA_PREEMPT, ty, 0, 0xa), CONFLICT);
		assert_int_equal(pr_out(&g_port2, SA_PREEMPT, ty, 0xb, 0xa), GOOD);
		pr_expect_reservation(true, ty, ar ? 0 : 0xb);
		pr_in(&g_port2, 0, 4096);
		assert_int_equal(scsi_get32(&g_buf[4]), 8);
		assert_int_equal(scsi_get64(&g_buf[8]), 0xb);
		/* the preempted holder now gets REGISTRATIONS PREEMPTED */
		ut_assert_sense(ut_exec_port(&g_port, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL,
					     0), SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x05);
		/* REGISTER from each role */
		pr_table_state(ty);
		assert_int_equal(pr_out(&g_port3, SA_REGISTER, 0, 0x5, 0xc), CONFLICT);
		assert_int_equal(pr_out(&g_port3, SA_REGISTER, 0, 0, 0xc), GOOD);
		assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0xc, 0xd), CONFLICT);
		assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0xa, 0xe), GOOD);
		pr_expect_reservation(true, ty, ar ? 0 : 0xe);
		/* the holder unregisters: the reservation goes, unless others remain (AR) */
		assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0xe, 0), GOOD);
		pr_expect_reservation(ar, ty, 0);
	}
}

static void
test_pr_clear(void **state)
{
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0), GOOD);
	assert_int_equal(pr_out(&g_port3, SA_CLEAR, 0, 0, 0), CONFLICT);
	assert_int_equal(pr_out(&g_port2, SA_CLEAR, 0, 0xa, 0), CONFLICT);
	assert_int_equal(pr_out(&g_port2, SA_CLEAR, 0, 0xb, 0), GOOD);
	pr_in(&g_port2, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
	assert_int_equal(scsi_get32(g_buf), 3);
	pr_in(&g_port2, 1, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
	ut_assert_sense(ut_exec_port(&g_port, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x03);
	ut_assert_good(ut_exec_port(&g_port2, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0));
	assert_int_equal(do_write(&g_port3), GOOD);
}

static void
test_pr_preempt(void **state)
{
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	assert_int_equal(pr_out(&g_port3, SA_REGISTER, 0, 0, 0xb), GOOD);
	/* unregistered / wrong key */
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_WRITE_EXCLUSIVE, 0xb, 0xb), CONFLICT);
	/* no reservation: removes the registrations with that key */
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0xb), GOOD);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 8);
	ut_assert_sense(ut_exec_port(&g_port2, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x05);
	ut_assert_sense(ut_exec_port(&g_port3, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x05);
	/* nothing matches: conflict */
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0x77), CONFLICT);
	/* no reservation and key 0 */
	ut_assert_invalid_field(pr_out_full(&g_port, SA_PREEMPT, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0,
					    0, 24), false, 8, -1);
	/* preempt the holder: take over with a new type */
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	assert_int_equal(pr_out(&g_port3, SA_REGISTER, 0, 0, 0xc), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE, 0xb, 0), GOOD);
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0xb), GOOD);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get64(&g_buf[8]), 0xa);
	assert_int_equal(g_buf[21], SCSI_PR_EXCLUSIVE_ACCESS);
	ut_assert_sense(ut_exec_port(&g_port2, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x05);
	/* the remaining registrant hears the type changed */
	ut_assert_sense(ut_exec_port(&g_port3, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x04);
	assert_int_equal(do_read(&g_port2), CONFLICT);
	/* preempt a non-holder key: reservation stays */
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0xc), GOOD);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 8);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get64(&g_buf[8]), 0xa);
	ut_assert_invalid_field(pr_out_full(&g_port, SA_PREEMPT, SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0,
					    0, 24), false, 8, -1);
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_EXCLUSIVE_ACCESS, 0xa, 0x99),
			 CONFLICT);
}

static void
test_pr_preempt_all_registrants(void **state)
{
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	assert_int_equal(pr_out(&g_port3, SA_REGISTER, 0, 0, 0xc), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE_AR, 0xb, 0), GOOD);
	/* a key: just that registration */
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_WRITE_EXCLUSIVE_AR, 0xa, 0xc), GOOD);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 16);
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_WRITE_EXCLUSIVE_AR, 0xa, 0xc),
			 CONFLICT);
	/* key 0: everyone else, and a new reservation */
	assert_int_equal(pr_out(&g_port, SA_PREEMPT, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0), GOOD);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 8);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get64(&g_buf[8]), 0xa);
	assert_int_equal(g_buf[21], SCSI_PR_WRITE_EXCLUSIVE);
}

static void
test_pr_preempt_and_abort(void **state)
{
	static uint8_t b[512];
	struct ut_cmd c;
	uint8_t rd[10] = {SBC_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};

	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE, 0xb, 0), GOOD);
	g_bdev->hold = true;
	ut_cmd_start(&c, &g_port2, 0, rd, 10, SCSI_DIR_FROM_DEV, b, 512);
	ut_poll_threads();
	assert_int_equal(pr_out(&g_port, SA_PREEMPT_ABORT, SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0xb),
			 GOOD);
	assert_int_equal(c.done, 0);	/* waits for its bdev I/O */
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(c.done, 1);
	assert_int_equal(c.task.status, SCSI_STATUS_TASK_ABORTED);
	g_bdev->hold = false;
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get64(&g_buf[8]), 0xa);
}

static void
test_pr_in_capabilities_and_full_status(void **state)
{
	struct scsi_task *t;

	t = pr_in(&g_port, 2, 4096);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 8);
	assert_memory_equal(g_buf, ((uint8_t[8]){0, 8, 0x00, 0x80, 0xea, 0x01, 0, 0}), 8);
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0, 0xa), GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER, 0, 0, 0xb), GOOD);
	assert_int_equal(pr_out(&g_port, SA_RESERVE, SCSI_PR_EXCLUSIVE_ACCESS_RO, 0xa, 0), GOOD);
	t = pr_in(&g_port, 3, 4096);
	ut_assert_good(t);
	/* "iqn.2026-01.test:host1" is 22 chars + NUL -> padded 24 */
	assert_int_equal(scsi_get32(&g_buf[4]), 2 * (24 + 28));
	assert_int_equal(t->data_transferred, 8 + 2 * (24 + 28));
	assert_int_equal(scsi_get64(&g_buf[8]), 0xa);
	assert_int_equal(g_buf[8 + 12], 0x01);
	assert_int_equal(g_buf[8 + 13], SCSI_PR_EXCLUSIVE_ACCESS_RO);
	assert_int_equal(scsi_get16(&g_buf[8 + 18]), 1);
	assert_int_equal(scsi_get32(&g_buf[8 + 20]), 28);
	assert_int_equal(g_buf[8 + 24], 0x05);
	assert_int_equal(scsi_get16(&g_buf[8 + 26]), 24);
	assert_memory_equal(&g_buf[8 + 28], "iqn.2026-01.test:host1\0\0", 24);
	assert_int_equal(scsi_get64(&g_buf[60]), 0xb);
	assert_int_equal(g_buf[60 + 12], 0x00);
	assert_int_equal(g_buf[60 + 13], 0x00);
	/* truncation of every PR IN response */
	t = pr_in(&g_port, 1, 13);
	assert_int_equal(t->data_transferred, 13);
	assert_int_equal(g_buf[13], 0xee);
	t = pr_in(&g_port, 3, 30);
	assert_int_equal(t->data_transferred, 30);
	t = pr_in(&g_port, 2, 3);
	assert_int_equal(t->data_transferred, 3);
	ut_assert_invalid_field(pr_in(&g_port, 4, 4096), true, 1, 4);
}

static void
test_pr_out_errors(void **state)
{
	uint8_t cdb[10] = {SPC_PERSISTENT_RESERVE_OUT, SA_REGISTER};

	ut_assert_sense(pr_out_full(&g_port, SA_REGISTER, 0, 0, 1, 0, 23),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x1a, 0x00);
	ut_assert_sense(pr_out_full(&g_port, SA_REGISTER, 0, 0, 1, 0, 28),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x1a, 0x00);
	scsi_put32(&cdb[5], 24);	/* header says 24, only 10 bytes sent */
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 10), SCSI_SENSE_ILLEGAL_REQUEST,
			0x1a, 0x00);
	ut_assert_invalid_field(pr_out_full(&g_port, SA_REGISTER, 0, 0, 1, 0x08, 24), false, 20,
				3);
	ut_assert_invalid_field(pr_out_full(&g_port, SA_REGISTER, 0, 0, 1, 0x04, 24), false, 20,
				2);
	/* APTPL without a file */
	ut_assert_invalid_field(pr_out_full(&g_port, SA_REGISTER, 0, 0, 1, 0x01, 24), false, 20,
				0);
	ut_assert_invalid_field(pr_out_full(&g_port, 7, 0, 0, 1, 0, 24), true, 1, 4);
	ut_assert_invalid_field(pr_out_full(&g_port, SA_RESERVE, 0x11, 0, 0, 0, 24), true, 2, 7);
	ut_assert_invalid_field(pr_out_full(&g_port, SA_RESERVE, 0x02, 0, 0, 0, 24), true, 2, 3);
	ut_assert_invalid_field(pr_out_full(&g_port, SA_PREEMPT, 0x00, 0, 0, 0, 24), true, 2, 3);
	cdb[3] = 1;	/* reserved CDB byte */
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 24), true, 3, 0);
	/* nothing was registered */
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(g_buf), 0);
}

static void
readd_lun0(const char *path)
{
	struct scsi_lun_opts o = {.lun_id = 0, .bdev_name = "Malloc0", .pr_path = path};
	int done = 0;

	assert_int_equal(scsi_dev_remove_lun(g_dev, 0, ut_dev_done, &done), 0);
	ut_poll_threads();
	assert_int_equal(done, 1);
	assert_int_equal(scsi_dev_add_lun(g_dev, &o), 0);
	ut_clear_ua(&g_port, 0);
	ut_clear_ua(&g_port2, 0);
}

static void
test_pr_aptpl(void **state)
{
	char *buf;
	size_t len;
	struct scsi_task *t;

	unlink(g_pr_path);
	readd_lun0(g_pr_path);
	t = pr_in(&g_port, 2, 8);
	ut_assert_good(t);
	assert_int_equal(g_buf[2], 0x01);	/* PTPL_C */
	assert_int_equal(g_buf[3], 0x80);
	assert_int_equal(pr_out_full(&g_port, SA_REGISTER, 0, 0, 0xa, 0x01, 24)->status, GOOD);
	assert_int_equal(pr_out(&g_port2, SA_REGISTER_IGNORE, 0, 0, 0xb), GOOD);
	/* the last REGISTER decides APTPL: set it again */
	assert_int_equal(pr_out_full(&g_port2, SA_REGISTER_IGNORE, 0, 0, 0xb, 0x01, 24)->status,
			 GOOD);
	assert_int_equal(pr_out(&g_port2, SA_RESERVE, SCSI_PR_WRITE_EXCLUSIVE, 0xb, 0), GOOD);
	pr_in(&g_port, 2, 8);
	assert_int_equal(g_buf[3], 0x81);	/* PTPL_A */
	assert_int_equal(util_file_read(g_pr_path, &buf, &len, 4096), 0);
	assert_non_null(strstr(buf, "aptpl 1"));
	assert_non_null(strstr(buf, "iqn.2026-01.test:host2"));
	free(buf);
	/* "restart": state comes back */
	readd_lun0(g_pr_path);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 16);
	assert_int_equal(scsi_get64(&g_buf[8]), 0xa);
	assert_int_equal(scsi_get64(&g_buf[16]), 0xb);
	pr_in(&g_port, 1, 4096);
	assert_int_equal(scsi_get64(&g_buf[8]), 0xb);
	assert_int_equal(g_buf[21], SCSI_PR_WRITE_EXCLUSIVE);
	assert_int_equal(do_write(&g_port), CONFLICT);
	assert_int_equal(do_write(&g_port2), GOOD);
	/* APTPL cleared: not restored */
	assert_int_equal(pr_out(&g_port, SA_REGISTER, 0, 0xa, 0xa), GOOD);
	readd_lun0(g_pr_path);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
	assert_int_equal(do_write(&g_port), GOOD);
	unlink(g_pr_path);
}

static void
test_pr_aptpl_bad_files(void **state)
{
	static const char *bad[] = {
		"vhostd-pr 2\n",
		"vhostd-pr 1\nbogus\n",
		"vhostd-pr 1\naptpl 1\ntype 2\n",
		"vhostd-pr 1\naptpl 1\ntype 1\nholder 5\nreg 0x1 a\n",
		"vhostd-pr 1\naptpl 1\ntype 7\nholder -1\n",
		"vhostd-pr 1\naptpl 1\nreg 0x1\n",
	};
	struct scsi_lun_opts o = {.lun_id = 5, .bdev_name = "Malloc0", .pr_path = g_pr_path};
	size_t i;

	for (i = 0; i < VHD_COUNTOF(bad); i++) {
		assert_int_equal(util_file_write_atomic(g_pr_path, bad[i], strlen(bad[i]), 0600),
				 0);
		assert_int_equal(scsi_dev_add_lun(g_dev, &o), -EINVAL);
	}
	/* a good file with an all-registrants reservation */
	{
		const char *good = "vhostd-pr 1\naptpl 1\ngeneration 9\ntype 8\nholder -1\n"
				   "reg 0x00000000000000aa iqn.2026-01.test:host1\n";
		struct scsi_task *t;

		assert_int_equal(util_file_write_atomic(g_pr_path, good, strlen(good), 0600), 0);
		assert_int_equal(scsi_dev_add_lun(g_dev, &o), 0);
		ut_clear_ua(&g_port, 5);
		t = ut_exec_port(&g_port, 5, (uint8_t[10]){SPC_PERSISTENT_RESERVE_IN, 1, 0, 0, 0, 0,
							   0, 0, 64, 0},
				 10, SCSI_DIR_FROM_DEV, g_buf, 64);
		ut_assert_good(t);
		assert_int_equal(scsi_get32(g_buf), 9);
		assert_int_equal(g_buf[21], SCSI_PR_EXCLUSIVE_ACCESS_AR);
	}
	unlink(g_pr_path);
}

static void
test_pr_registrant_limit(void **state)
{
	static struct scsi_port ports[SCSI_PR_MAX_REGISTRANTS + 1];
	char name[64];
	int i;

	for (i = 0; i <= SCSI_PR_MAX_REGISTRANTS; i++) {
		snprintf(name, sizeof(name), "iqn.limit:%d", i);
		scsi_port_init(&ports[i], 100 + i, name);
		ut_clear_ua(&ports[i], 0);
		if (i < SCSI_PR_MAX_REGISTRANTS) {
			assert_int_equal(pr_out(&ports[i], SA_REGISTER, 0, 0, 1 + i), GOOD);
		}
	}
	ut_assert_sense(pr_out_full(&ports[i - 1], SA_REGISTER, 0, 0, 7, 0, 24),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x55, 0x04);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 8 * SCSI_PR_MAX_REGISTRANTS);
	for (i = 0; i <= SCSI_PR_MAX_REGISTRANTS; i++) {
		scsi_dev_free_port(g_dev, &ports[i]);
	}
}

static void
test_pr_aptpl_unsaved_and_off(void **state)
{
	const char *off = "vhostd-pr 1\naptpl 0\ngeneration 3\ntype 1\nholder 0\n"
			  "reg 0x00000000000000aa iqn.2026-01.test:host1\n";

	/* a file that says APTPL was off loads as empty */
	assert_int_equal(util_file_write_atomic(g_pr_path, off, strlen(off), 0600), 0);
	readd_lun0(g_pr_path);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 0);
	assert_int_equal(scsi_get32(g_buf), 0);
	unlink(g_pr_path);
	/* the file cannot be written: logged, the command still succeeds in memory */
	readd_lun0("/nonexistent-dir/vhostd.pr");
	assert_int_equal(pr_out_full(&g_port, SA_REGISTER, 0, 0, 0xa, 0x01, 24)->status, GOOD);
	pr_in(&g_port, 0, 4096);
	assert_int_equal(scsi_get32(&g_buf[4]), 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PR_TEST(test_pr_register),
		PR_TEST(test_pr_reserve_release),
		PR_TEST(test_pr_conflict_table),
		PR_TEST(test_pr_action_table),
		PR_TEST(test_pr_clear),
		PR_TEST(test_pr_preempt),
		PR_TEST(test_pr_preempt_all_registrants),
		PR_TEST(test_pr_preempt_and_abort),
		PR_TEST(test_pr_in_capabilities_and_full_status),
		PR_TEST(test_pr_out_errors),
		PR_TEST(test_pr_aptpl),
		PR_TEST(test_pr_aptpl_bad_files),
		PR_TEST(test_pr_registrant_limit),
		PR_TEST(test_pr_aptpl_unsaved_and_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
