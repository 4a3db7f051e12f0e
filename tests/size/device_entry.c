/* SPDX-License-Identifier: MIT */
/*
 * make size: the whole device side, receiver and OTA engine, as firmware
 * would link it for Cortex-M4 with --gc-sections. The engine's crypto
 * (SHA-256/384, MD5, the RSA-PSS and ECDSA signature checks) comes from
 * the platform on a real device (hardware or ROM routines, as ESP-IDF's
 * bootloader uses), so here it is an empty stand-in and not counted; the flash
 * driver is the platform's too. The receiver reaches the engine through
 * the device-side adapter (ota_engine/engine_sink.c), as firmware would.
 * The device's own bootloader chose the running slot: firmware starts
 * with ota_engine_open() + ota_engine_set_running(), and the simulated
 * bootloader (ota_engine/boot_sim.c) is not linked.
 * Never executed: only sizes are read.
 */
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/crypto.h"
#include "ota_engine/engine.h"
#include "ota_engine/engine_sink.h"
#include "protocol/receiver.h"

struct ota_rx bleota_size_dev_rx;
struct ota_engine bleota_size_dev_engine;
struct engine_sink bleota_size_dev_sink;

extern const struct ota_flash_ops bleota_size_flash __attribute__((weak));

/* the platform's hashing, outside the count */
void ota_sha256_init(struct ota_sha256 *ctx)
{
	(void)ctx;
}

void ota_sha256_update(struct ota_sha256 *ctx, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
}

void ota_sha256_final(struct ota_sha256 *ctx, uint8_t out[OTA_SHA256_LEN])
{
	(void)ctx;
	(void)out;
}

void ota_sha256_clone(struct ota_sha256 *dst, const struct ota_sha256 *src)
{
	(void)dst;
	(void)src;
}

void ota_md5_init(struct ota_md5 *ctx)
{
	(void)ctx;
}

void ota_md5_update(struct ota_md5 *ctx, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
}

void ota_md5_final(struct ota_md5 *ctx, uint8_t out[OTA_MD5_LEN])
{
	(void)ctx;
	(void)out;
}

void ota_sha384_init(struct ota_sha384 *ctx)
{
	(void)ctx;
}

void ota_sha384_update(struct ota_sha384 *ctx, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
}

void ota_sha384_final(struct ota_sha384 *ctx, uint8_t out[OTA_SHA384_LEN])
{
	(void)ctx;
	(void)out;
}

int ota_crypto_verify_rsa3072_pss(const uint8_t *key,
				  const uint8_t digest[OTA_SHA256_LEN],
				  const uint8_t *sig_le)
{
	(void)key;
	(void)digest;
	(void)sig_le;
	return -1;
}

int ota_crypto_verify_ecdsa(enum ota_ecdsa_curve curve, const uint8_t *xy_le,
			    const uint8_t *digest, size_t digest_len,
			    const uint8_t *rs_le)
{
	(void)curve;
	(void)xy_le;
	(void)digest;
	(void)digest_len;
	(void)rs_le;
	return -1;
}

void bleota_size_device(void);
void bleota_size_device(void)
{
	static uint8_t buf[OTA_MAX_VALUE];
	struct ota_engine_cfg ecfg = { .flash = &bleota_size_flash };
	struct ota_rx_cfg rcfg = { .sink = &engine_sink_ops,
				   .sink_ctx = &bleota_size_dev_sink };
	struct ota_engine_manifest m = { 0 };
	struct ota_engine_status st;
	struct ota_engine_info info;
	enum ota_chan chan;

	ota_engine_open(&bleota_size_dev_engine, &ecfg);
	ota_engine_set_running(&bleota_size_dev_engine, 0);
	ota_engine_begin(&bleota_size_dev_engine, &m, 0);
	ota_engine_write(&bleota_size_dev_engine, 0, buf, sizeof(buf));
	ota_engine_block_verify(&bleota_size_dev_engine, 0, 0);
	ota_engine_block_is_verified(&bleota_size_dev_engine, 0);
	ota_engine_finish(&bleota_size_dev_engine);
	ota_engine_commit(&bleota_size_dev_engine);
	ota_engine_confirm(&bleota_size_dev_engine);
	ota_engine_rollback(&bleota_size_dev_engine);
	ota_engine_abort(&bleota_size_dev_engine);
	ota_engine_status(&bleota_size_dev_engine, &st);
	ota_engine_info(&bleota_size_dev_engine, &info);
	ota_engine_last_reason(&bleota_size_dev_engine);
	engine_sink_init(&bleota_size_dev_sink, &bleota_size_dev_engine);
	ota_rx_init(&bleota_size_dev_rx, &rcfg);
	ota_rx_feed(&bleota_size_dev_rx, OTA_CHAN_DATA, buf, sizeof(buf), 0);
	ota_rx_poll(&bleota_size_dev_rx, buf, sizeof(buf), &chan, 0);
	ota_rx_on_timeout(&bleota_size_dev_rx, 0);
	ota_rx_disconnect(&bleota_size_dev_rx);
}
