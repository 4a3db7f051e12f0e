/* SPDX-License-Identifier: MIT */
/*
 * Anchor protocol models; see anchors.h. Both ends live in one struct:
 * the central is a generator of datagrams driven by the waits its
 * protocol imposes; the peripheral answers and charges flash time. Where
 * the real peripheral would parse offsets from the PDU, the model keeps
 * the bookkeeping in the shared struct (the link is loss-free here), but
 * every datagram still has its real size on the air.
 */
#include "tests/harness/anchors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tag {
	T_CTRL = 'C', /* control request (Write Request on the air) */
	T_RSP = 'R',  /* its response notification */
	T_DATA = 'D', /* firmware bytes */
	T_PRN = 'P',  /* Nordic packet receipt notification */
	T_ACK = 'A',  /* ESP sector ACK */
	T_FRAG = 'F', /* not the last fragment of a longer notification */
};

enum step {
	/* Nordic */
	N_INIT_SELECT,
	N_INIT_CREATE,
	N_INIT_DATA,
	N_INIT_CRC,
	N_INIT_EXEC,
	N_SET_PRN,
	N_SEL_DATA,
	N_OBJ_CREATE,
	N_OBJ_DATA,
	N_OBJ_CRC,
	N_OBJ_EXEC,
	/* ESP */
	E_START,
	E_SECTOR,
	E_STOP,
	/* SMP */
	S_UPLOAD,
	DONE,
};

#define NOTE_RING 64
#define SMP_RING  64

struct model {
	struct anchor_cfg a;
	uint32_t len;
	unsigned int value;

	/* central */
	enum step step;
	bool waiting; /* for a response, a receipt or a sector ACK */
	bool done;
	uint64_t done_us;
	uint32_t off;     /* next image byte to send */
	uint32_t obj_end; /* end of the current object or sector */
	uint32_t sec_pos; /* ESP: stream position within the sector */
	unsigned int since_prn;
	unsigned int outstanding; /* SMP requests */
	uint32_t req_left;        /* SMP: bytes of the current request */
	uint64_t writes, overhead;

	/* SMP requests in flight: image bytes and on-air size */
	struct {
		uint32_t off, data, total;
	} req[SMP_RING];
	unsigned int req_head, req_n;
	uint32_t req_rx; /* bytes of the head request received */

	/* peripheral */
	struct lm_flash flash;
	bool use_flash;
	unsigned int p_prn_cnt;
	uint32_t p_off;
	unsigned int notes[NOTE_RING]; /* tag << 16 | size */
	unsigned int note_head, note_n;
};

static unsigned int cbor_uint(uint32_t v)
{
	return v < 24 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : 5;
}

/* SMP upload request with @d data bytes at @off: header + CBOR. */
static uint32_t smp_req_len(const struct model *m, uint32_t off, uint32_t d)
{
	uint32_t n = 8 + 1 + 4 + cbor_uint(off) + 5 + cbor_uint(d) + d;

	if (!off) /* "len": u32, "sha": 32-byte bstr */
		n += 4 + cbor_uint(m->len) + 4 + 2 + 32;
	return n;
}

static uint32_t smp_data_for(const struct model *m, uint32_t off)
{
	uint32_t buf = m->a.smp_buf ? m->a.smp_buf : m->value;
	uint32_t left = m->len - off;
	uint32_t d = buf;

	while (d && smp_req_len(m, off, d) > buf)
		d--;
	d &= ~3u;
	return d < left ? d : left;
}

/* Queue a notification; one longer than a value goes in fragments (SMP
 * over GATT does that; the others never exceed 20 bytes). */
static void note(struct model *m, enum tag t, unsigned int size)
{
	while (size) {
		unsigned int n = size < m->value ? size : m->value;

		size -= n;
		if (m->note_n == NOTE_RING)
			abort();
		m->notes[(m->note_head + m->note_n++) % NOTE_RING] =
			(unsigned int)(size ? T_FRAG : t) << 16 | n;
	}
}

static void flash_write(struct model *m, uint32_t off, uint32_t len,
			uint64_t now)
{
	if (!m->use_flash || !len)
		return;
	m->flash.now_us = now;
	lm_flash_ops.write(&m->flash, off, NULL, len);
}

/* ---- central ------------------------------------------------------------- */

static int emit(struct model *m, uint8_t *buf, enum tag t, unsigned int size,
		unsigned int payload, uint8_t *chan)
{
	memset(buf, 0, size);
	buf[0] = (uint8_t)t;
	*chan = t == T_DATA ? 1 : 0;
	m->overhead += size - payload;
	if (t == T_DATA)
		m->writes++;
	return (int)size;
}

static int ctrl(struct model *m, uint8_t *buf, unsigned int size, uint8_t *chan)
{
	m->waiting = true;
	return emit(m, buf, T_CTRL, size, 0, chan);
}

static int nordic_poll(struct model *m, uint8_t *buf, uint8_t *chan)
{
	unsigned int chunk = m->value & ~3u, n;

	switch (m->step) {
	case N_INIT_SELECT:
		return ctrl(m, buf, 2, chan);
	case N_INIT_CREATE:
		return ctrl(m, buf, 6, chan);
	case N_INIT_DATA:
		/* the 141-byte init packet, in writes of the value size */
		n = 141 - m->sec_pos < m->value ? 141 - m->sec_pos : m->value;
		m->sec_pos += n;
		if (m->sec_pos == 141)
			m->step = N_INIT_CRC;
		return emit(m, buf, T_DATA, n, 0, chan);
	case N_INIT_CRC:
	case N_OBJ_CRC:
	case N_INIT_EXEC:
	case N_OBJ_EXEC:
		return ctrl(m, buf, 1, chan);
	case N_SET_PRN:
		return ctrl(m, buf, 3, chan);
	case N_SEL_DATA:
		return ctrl(m, buf, 2, chan);
	case N_OBJ_CREATE:
		return ctrl(m, buf, 6, chan);
	case N_OBJ_DATA:
		if (m->off == m->obj_end) {
			if (m->a.object_size == UINT32_MAX)
				return -1; /* bare stream: nothing follows */
			m->step = N_OBJ_CRC;
			return ctrl(m, buf, 1, chan);
		}
		if (m->a.prn && m->since_prn == m->a.prn) {
			m->waiting = true;
			return -1;
		}
		n = m->obj_end - m->off < chunk ? m->obj_end - m->off : chunk;
		m->off += n;
		m->since_prn++;
		return emit(m, buf, T_DATA, n, n, chan);
	case E_START:
	case E_SECTOR:
	case E_STOP:
	case S_UPLOAD:
	case DONE:
		break;
	}
	return -1;
}

static void nordic_answer(struct model *m, enum tag t)
{
	uint32_t obj = m->a.object_size ? m->a.object_size : 4096;

	if (t == T_PRN) {
		m->since_prn = 0;
		if (m->step == N_OBJ_DATA)
			m->waiting = false;
		return;
	}
	m->waiting = false;
	switch (m->step) {
	case N_OBJ_EXEC:
		if (m->off == m->len) {
			m->step = DONE;
			return;
		}
		m->step = N_OBJ_CREATE;
		return;
	case N_SEL_DATA:
		m->step = N_OBJ_CREATE;
		return;
	case N_OBJ_CREATE:
		m->obj_end = m->off + obj < m->len ? m->off + obj : m->len;
		m->since_prn = 0;
		m->step = N_OBJ_DATA;
		return;
	case N_INIT_SELECT:
	case N_INIT_CREATE:
	case N_INIT_DATA:
	case N_INIT_CRC:
	case N_INIT_EXEC:
	case N_SET_PRN:
	case N_OBJ_DATA:
	case N_OBJ_CRC:
	case E_START:
	case E_SECTOR:
	case E_STOP:
	case S_UPLOAD:
	case DONE:
		break;
	}
	m->step++;
}

static int esp_poll(struct model *m, uint8_t *buf, uint8_t *chan)
{
	uint32_t slen, n;

	switch (m->step) {
	case E_START:
	case E_STOP:
		return ctrl(m, buf, 20, chan);
	case E_SECTOR:
		/* the sector's bytes, then its CRC16 */
		slen = m->obj_end - m->off + 2;
		n = slen - m->sec_pos < m->value - 3 ? slen - m->sec_pos
						     : m->value - 3;
		m->sec_pos += n;
		if (m->sec_pos == slen)
			m->waiting = true;
		emit(m, buf, T_DATA, n + 3, n, chan);
		if (m->sec_pos == slen)
			buf[1] = 0xff; /* last packet of the sector */
		return (int)n + 3;
	case N_INIT_SELECT:
	case N_INIT_CREATE:
	case N_INIT_DATA:
	case N_INIT_CRC:
	case N_INIT_EXEC:
	case N_SET_PRN:
	case N_SEL_DATA:
	case N_OBJ_CREATE:
	case N_OBJ_DATA:
	case N_OBJ_CRC:
	case N_OBJ_EXEC:
	case S_UPLOAD:
	case DONE:
		break;
	}
	return -1;
}

static void esp_next_sector(struct model *m)
{
	if (m->obj_end == m->len) {
		m->step = E_STOP;
		return;
	}
	m->off = m->obj_end;
	m->obj_end = m->off + 4096 < m->len ? m->off + 4096 : m->len;
	m->sec_pos = 0;
	m->step = E_SECTOR;
}

static void esp_answer(struct model *m, enum tag t)
{
	(void)t;
	m->waiting = false;
	if (m->step == E_STOP) {
		m->step = DONE;
		return;
	}
	if (m->step == E_START) {
		m->obj_end = 0;
		m->off = 0;
	}
	esp_next_sector(m);
}

static int smp_poll(struct model *m, uint8_t *buf, uint8_t *chan)
{
	unsigned int depth = m->a.depth ? m->a.depth : 1;
	uint32_t n;

	if (!m->req_left) {
		uint32_t d, total;

		if (m->outstanding == depth || m->off == m->len ||
		    m->req_n == SMP_RING)
			return -1;
		d = smp_data_for(m, m->off);
		total = smp_req_len(m, m->off, d);
		m->req[(m->req_head + m->req_n++) % SMP_RING].off = m->off;
		m->req[(m->req_head + m->req_n - 1) % SMP_RING].data = d;
		m->req[(m->req_head + m->req_n - 1) % SMP_RING].total = total;
		m->off += d;
		m->req_left = total;
		m->outstanding++;
		m->overhead += total - d;
	}
	n = m->req_left < m->value ? m->req_left : m->value;
	m->req_left -= n;
	memset(buf, 0, n);
	buf[0] = T_DATA;
	*chan = 1;
	m->writes++;
	return (int)n;
}

static int c_poll(void *ctx, uint8_t *buf, size_t cap, uint8_t *chan,
		  uint64_t now)
{
	struct model *m = ctx;

	(void)cap;
	(void)now;
	if (m->done || m->waiting)
		return -1;
	switch (m->a.kind) {
	case ANCHOR_NORDIC:
		return nordic_poll(m, buf, chan);
	case ANCHOR_ESP:
		return esp_poll(m, buf, chan);
	case ANCHOR_SMP:
		return smp_poll(m, buf, chan);
	}
	return -1;
}

static void c_recv(void *ctx, uint8_t chan, const uint8_t *buf, size_t len,
		   uint64_t now)
{
	struct model *m = ctx;

	(void)chan;
	(void)len;
	if (buf[0] == T_FRAG)
		return;
	switch (m->a.kind) {
	case ANCHOR_NORDIC:
		nordic_answer(m, (enum tag)buf[0]);
		break;
	case ANCHOR_ESP:
		esp_answer(m, (enum tag)buf[0]);
		break;
	case ANCHOR_SMP:
		m->outstanding--;
		if (m->off == m->len && !m->outstanding && !m->req_left)
			m->step = DONE;
		break;
	}
	if (m->step == DONE && !m->done) {
		m->done = true;
		m->done_us = now;
	}
}

static uint64_t no_deadline(void *ctx)
{
	(void)ctx;
	return LM_NO_DEADLINE;
}

static void no_timeout(void *ctx, uint64_t now)
{
	(void)ctx;
	(void)now;
}

static bool c_done(void *ctx)
{
	struct model *m = ctx;

	/* a bare PRN stream ends when the device has everything */
	if (m->a.kind == ANCHOR_NORDIC && m->a.object_size == UINT32_MAX &&
	    m->p_off == m->len && !m->done) {
		m->done = true;
		m->done_us = m->flash.now_us;
	}
	return m->done;
}

static const struct lm_ep_ops central_ops = {
	.recv = c_recv,
	.poll = c_poll,
	.next_deadline = no_deadline,
	.on_timeout = no_timeout,
	.done = c_done,
};

/* ---- peripheral ---------------------------------------------------------- */

static unsigned int nordic_rsp_len(const struct model *m)
{
	/* the central's step is the request being answered */
	switch (m->step) {
	case N_INIT_SELECT:
	case N_SEL_DATA:
		return 15; /* 60 06 01 max_size offset crc */
	case N_INIT_CRC:
	case N_OBJ_CRC:
		return 11; /* 60 03 01 offset crc */
	case N_INIT_CREATE:
	case N_INIT_DATA:
	case N_INIT_EXEC:
	case N_SET_PRN:
	case N_OBJ_CREATE:
	case N_OBJ_DATA:
	case N_OBJ_EXEC:
	case E_START:
	case E_SECTOR:
	case E_STOP:
	case S_UPLOAD:
	case DONE:
		break;
	}
	return 3;
}

static void p_recv(void *ctx, uint8_t chan, const uint8_t *buf, size_t len,
		   uint64_t now)
{
	struct model *m = ctx;

	(void)chan;
	m->flash.now_us = now;
	switch (m->a.kind) {
	case ANCHOR_NORDIC:
		if (buf[0] == T_CTRL) {
			if (m->step == N_OBJ_CREATE)
				m->p_prn_cnt = 0;
			note(m, T_RSP, nordic_rsp_len(m));
		} else if (m->step == N_OBJ_DATA || m->step == N_OBJ_CRC) {
			flash_write(m, m->p_off, (uint32_t)len, now);
			m->p_off += (uint32_t)len;
			if (m->a.prn && ++m->p_prn_cnt == m->a.prn) {
				m->p_prn_cnt = 0;
				note(m, T_PRN, 11);
			}
		}
		break;
	case ANCHOR_ESP:
		if (buf[0] == T_CTRL) {
			note(m, T_RSP, 20);
		} else if (buf[1] == 0xff) {
			uint32_t s = m->obj_end - m->off;

			flash_write(m, m->off, s, now);
			m->p_off += s;
			note(m, T_ACK, 20);
		}
		break;
	case ANCHOR_SMP:
		m->req_rx += (uint32_t)len;
		if (m->req_rx == m->req[m->req_head].total) {
			uint32_t off = m->req[m->req_head].off;
			uint32_t d = m->req[m->req_head].data;

			flash_write(m, off, d, now);
			m->p_off = off + d;
			m->req_head = (m->req_head + 1) % SMP_RING;
			m->req_n--;
			m->req_rx = 0;
			/* {"rc": 0, "off": next} */
			note(m, T_RSP, 8 + 1 + 3 + 1 + 4 + cbor_uint(off + d));
		}
		break;
	}
}

static int p_poll(void *ctx, uint8_t *buf, size_t cap, uint8_t *chan,
		  uint64_t now)
{
	struct model *m = ctx;
	unsigned int n;

	(void)cap;
	(void)now;
	if (!m->note_n)
		return -1;
	n = m->notes[m->note_head] & 0xffff;
	memset(buf, 0, n);
	buf[0] = (uint8_t)(m->notes[m->note_head] >> 16);
	*chan = 2;
	m->note_head = (m->note_head + 1) % NOTE_RING;
	m->note_n--;
	return (int)n;
}

static uint64_t p_busy(void *ctx)
{
	struct model *m = ctx;

	return m->use_flash ? m->flash.busy_until : 0;
}

static const struct lm_ep_ops peripheral_ops = {
	.recv = p_recv,
	.poll = p_poll,
	.next_deadline = no_deadline,
	.on_timeout = no_timeout,
	.busy_until = p_busy,
};

/* A sink that stores nothing: the flash model only needs the timing. */
static enum ota_status null_write(void *ctx, uint32_t off, const uint8_t *d,
				  size_t len)
{
	(void)ctx;
	(void)off;
	(void)d;
	(void)len;
	return OTA_STATUS_OK;
}

static enum ota_status null_begin(void *ctx, const struct ota_manifest *mf,
				  uint8_t flags, uint32_t *detail)
{
	(void)ctx;
	(void)mf;
	(void)flags;
	(void)detail;
	return OTA_STATUS_OK;
}

static const struct ota_sink_ops null_sink = {
	.begin = null_begin,
	.write = null_write,
};

int anchor_run(const struct anchor_cfg *a, const struct lm_cfg *link,
	       size_t image_len, const struct lm_flash_params *flash,
	       uint32_t rx_buf_bytes, struct anchor_result *r)
{
	struct model *m = calloc(1, sizeof(*m));
	struct lm_cfg cfg = *link;
	struct lm *lm;
	enum lm_result res;

	memset(r, 0, sizeof(*r));
	if (!m)
		return -ENOMEM;
	m->a = *a;
	m->len = (uint32_t)image_len;
	m->value = link->link.att_mtu - 3 > 510 ? 510 : link->link.att_mtu - 3;
	if (flash) {
		struct ota_manifest mf = { .image_size = m->len };
		uint32_t detail;

		lm_flash_init(&m->flash, flash, &null_sink, NULL);
		lm_flash_ops.begin(&m->flash, &mf, 0, &detail);
		m->use_flash = true;
	}
	switch (a->kind) {
	case ANCHOR_NORDIC:
		m->step = N_INIT_SELECT;
		if (a->object_size == UINT32_MAX) {
			m->step = N_OBJ_DATA;
			m->obj_end = m->len;
		}
		break;
	case ANCHOR_ESP:
		m->step = E_START;
		break;
	case ANCHOR_SMP:
		m->step = S_UPLOAD;
		break;
	}
	cfg.rx_buf_bytes = rx_buf_bytes;
	lm = lm_new(&cfg, &central_ops, m, &peripheral_ops, m);
	res = lm_run(lm);
	r->ok = res == LM_DONE && m->p_off == m->len;
	r->time_us = m->done_us;
	r->data_writes = m->writes;
	r->overhead_bytes = m->overhead;
	r->link = *lm_get_stats(lm);
	lm_free(lm);
	free(m);
	return 0;
}

const char *anchor_name(const struct anchor_cfg *a, char *buf, size_t len)
{
	switch (a->kind) {
	case ANCHOR_ESP:
		snprintf(buf, len, "ESP BLE OTA, sector stop-and-wait");
		break;
	case ANCHOR_NORDIC:
		snprintf(buf, len, "Nordic DFU, 4 KiB objects, PRN %u", a->prn);
		break;
	case ANCHOR_SMP:
		if (a->smp_buf)
			snprintf(buf, len,
				 "MCUmgr SMP, %u-B requests, depth %u",
				 a->smp_buf, a->depth ? a->depth : 1);
		else
			snprintf(buf, len,
				 "MCUmgr SMP, 1-write requests, depth %u",
				 a->depth ? a->depth : 1);
		break;
	}
	return buf;
}
