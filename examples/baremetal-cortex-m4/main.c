/* SPDX-License-Identifier: MIT */
/*
 * A bare-metal Cortex-M4 firmware skeleton that links bleota's real device
 * side — the protocol receiver (protocol/) and the OTA engine (ota_engine/)
 * through its receiver adapter — the way docs/porting.md describes. `make
 * size` compiles and links it with arm-none-eabi-gcc (-Os, newlib-nano,
 * --gc-sections), which proves the porting guide's recipe builds; it is
 * never run here.
 *
 * What a real port replaces, each marked "PORT:" below:
 *  - the flash driver (struct ota_flash_ops over the SoC's flash
 *    controller; here a memory-mapped read and stand-in register writes),
 *  - the BLE glue (the stack's GATT write callback feeding ota_rx_feed()
 *    and notifications sent from ota_rx_poll(); here a one-value mailbox
 *    a stack's callback would fill),
 *  - the millisecond clock (SysTick),
 *  - the crypto interface (ota_engine/crypto.h: SHA-256, MD5 for the
 *    partition table's MD5 row, and SHA-384 and the signature checks when
 *    signed images are required; here stand-ins that a port wires to its
 *    hash accelerator or ROM),
 *  - the reset (AIRCR.SYSRESETREQ),
 *  - the running slot: which partition the device's own bootloader
 *    started (here a word it leaves in retained RAM). The bootloader is a
 *    program of its own; this firmware does not link bleota's simulated
 *    one (ota_engine/boot_sim.c).
 *
 * Memory: every context is static (no malloc): struct ota_rx, struct
 * ota_engine and the adapter, plus one value buffer. `make size` prints
 * their sizes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ota_engine/crypto.h"
#include "ota_engine/engine.h"
#include "ota_engine/engine_sink.h"
#include "ota_engine/flash.h"
#include "protocol/receiver.h"

/* ---------------------------------------------------------------------------
 * PORT: the flash driver. A 4 MiB SPI NOR mapped for reading at
 * FLASH_BASE, programmed and erased through a controller.
 */
#define FLASH_BASE  0x60000000u
#define FLASH_SIZE  (4u * 1024 * 1024)
#define FLASHC_CMD  (*(volatile uint32_t *)0x40020000u)
#define FLASHC_ADDR (*(volatile uint32_t *)0x40020004u)
#define FLASHC_DATA (*(volatile uint32_t *)0x40020008u)
#define FLASHC_BUSY (*(volatile uint32_t *)0x4002000Cu)

enum {
	FLASHC_PROGRAM_WORD = 1,
	FLASHC_ERASE_SECTOR = 2
};

static int in_range(uint32_t off, size_t len)
{
	return off <= FLASH_SIZE && len <= FLASH_SIZE - off;
}

static int flash_read(void *ctx, uint32_t off, void *dst, size_t len)
{
	(void)ctx;
	if (!in_range(off, len))
		return -EINVAL;
	memcpy(dst, (const void *)(uintptr_t)(FLASH_BASE + off), len);
	return 0;
}

static int flash_write(void *ctx, uint32_t off, const void *src, size_t len)
{
	const uint8_t *p = src;
	size_t i;

	(void)ctx;
	if (!in_range(off, len) || off % 4 || len % 4)
		return -EINVAL;
	for (i = 0; i < len; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		FLASHC_ADDR = off + (uint32_t)i;
		FLASHC_DATA = w;
		FLASHC_CMD = FLASHC_PROGRAM_WORD;
		while (FLASHC_BUSY)
			;
	}
	return 0;
}

static int flash_erase(void *ctx, uint32_t off, size_t len)
{
	size_t i;

	(void)ctx;
	if (!in_range(off, len) || off % OTA_FLASH_SECTOR_SIZE ||
	    len % OTA_FLASH_SECTOR_SIZE)
		return -EINVAL;
	for (i = 0; i < len; i += OTA_FLASH_SECTOR_SIZE) {
		FLASHC_ADDR = off + (uint32_t)i;
		FLASHC_CMD = FLASHC_ERASE_SECTOR;
		while (FLASHC_BUSY)
			;
	}
	return 0;
}

static uint32_t flash_size(void *ctx)
{
	(void)ctx;
	return FLASH_SIZE;
}

static const struct ota_flash_ops board_flash = {
	.read = flash_read,
	.write = flash_write,
	.erase = flash_erase,
	.size = flash_size,
	.erase_size = OTA_FLASH_SECTOR_SIZE,
	.write_align = 4,
};

/* ---------------------------------------------------------------------------
 * PORT: the crypto interface. Wire these to the SoC's SHA accelerator (as
 * ESP-IDF's bootloader uses its ROM routines). The stand-ins keep the link
 * complete; a firmware with them verifies nothing.
 */
void ota_sha256_init(struct ota_sha256 *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
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
	memset(out, 0, OTA_SHA256_LEN);
}

void ota_sha256_clone(struct ota_sha256 *dst, const struct ota_sha256 *src)
{
	*dst = *src;
}

void ota_md5_init(struct ota_md5 *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
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
	memset(out, 0, OTA_MD5_LEN);
}

void ota_sha384_init(struct ota_sha384 *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
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
	memset(out, 0, OTA_SHA384_LEN);
}

/*
 * Signature checks (only reached when the engine is configured with
 * trusted keys). Until a port wires them to its crypto, they refuse every
 * signature: a stand-in that accepted would make "signed images required"
 * accept anything.
 */
int ota_crypto_verify_rsa3072_pss(const uint8_t *key,
				  const uint8_t digest[OTA_SHA256_LEN],
				  const uint8_t *sig_le)
{
	(void)key;
	(void)digest;
	(void)sig_le;
	return -EBADMSG;
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
	return -EBADMSG;
}

/* ---------------------------------------------------------------------------
 * PORT: the clock. SysTick at 1 kHz increments ms_ticks.
 */
static volatile uint64_t ms_ticks;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
	ms_ticks++;
}

/* ---------------------------------------------------------------------------
 * PORT: the BLE glue. The stack's GATT write callback (Control: write with
 * response; Data: write without response) copies the value into this
 * mailbox; the main loop feeds it to the receiver. Notifications go out
 * through ble_notify(). One value in flight is enough for a stack whose
 * callbacks run in the main loop's context; an interrupt-driven stack
 * wants a small ring of values instead.
 */
static struct {
	volatile bool full;
	enum ota_chan chan;
	uint16_t len;
	uint8_t buf[OTA_MAX_VALUE];
} mailbox;

/* what the stack's write callback calls */
void ble_gatt_on_write(enum ota_chan chan, const uint8_t *val, uint16_t len);
void ble_gatt_on_write(enum ota_chan chan, const uint8_t *val, uint16_t len)
{
	if (mailbox.full || len > sizeof(mailbox.buf))
		return; /* counted as lost: the protocol resends */
	memcpy(mailbox.buf, val, len);
	mailbox.chan = chan;
	mailbox.len = len;
	mailbox.full = true;
}

/* the stack's notify call; here a stand-in that drops the value */
static void ble_notify(enum ota_chan chan, const uint8_t *val, size_t len)
{
	(void)chan;
	(void)val;
	(void)len;
}

/* ---------------------------------------------------------------------------
 * PORT: reset through the Cortex-M System Control Block.
 */
#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

static void system_reset(void)
{
	SCB_AIRCR = (0x5FAu << 16) | (1u << 2); /* VECTKEY | SYSRESETREQ */
	for (;;)
		;
}

/* ---------------------------------------------------------------------------
 * PORT: the running slot. The bootloader chose and verified the image
 * this firmware runs from; here it leaves the slot (0.. for ota_N, or
 * OTA_ENGINE_SLOT_FACTORY) in a retained RAM word. On ESP-IDF it comes
 * from esp_ota_get_running_partition(): its subtype minus
 * ESP_PARTITION_SUBTYPE_APP_OTA_MIN for an OTA slot,
 * OTA_ENGINE_SLOT_FACTORY for the factory app.
 */
#define BOOT_SLOT_WORD (*(volatile int32_t *)0x2001FFFCu)

static int running_slot(void)
{
	return (int)BOOT_SLOT_WORD;
}

/* ---------------------------------------------------------------------------
 * The firmware: power-on, the running slot, then the loop.
 */
static struct ota_engine engine;
static struct engine_sink sink;
static struct ota_rx rx;
static uint8_t txbuf[OTA_MAX_VALUE];

int main(void)
{
	const struct ota_engine_cfg ecfg = {
		.flash = &board_flash,
		.chip_id = 5, /* esp_chip_id_t of this device (ESP32-C3: 5) */
	};
	struct ota_rx_cfg rcfg = { .sink = &engine_sink_ops,
				   .sink_ctx = &sink };
	struct ota_rx_event ev;
	enum ota_chan chan;
	int n;

	/* the table, the journal, and the slot the bootloader started */
	if (ota_engine_open(&engine, &ecfg) ||
	    ota_engine_set_running(&engine, running_slot()))
		system_reset(); /* no table or no app: a real port halts here */
	engine_sink_init(&sink, &engine);
	if (ota_rx_init(&rx, &rcfg))
		system_reset();

	for (;;) {
		uint64_t now = ms_ticks;

		if (mailbox.full) {
			ota_rx_feed(&rx, mailbox.chan, mailbox.buf, mailbox.len,
				    now);
			mailbox.full = false;
		}
		while ((n = ota_rx_poll(&rx, txbuf, sizeof(txbuf), &chan,
					now)) > 0)
			ble_notify(chan, txbuf, (size_t)n);
		if (ota_rx_next_deadline(&rx) <= now)
			ota_rx_on_timeout(&rx, now);
		while (!ota_rx_next_event(&rx, &ev)) {
			/* REBOOT: after the response above went out */
			if (ev.type == OTA_RX_EV_REBOOT)
				system_reset();
		}
		/* a real port sleeps here until the next interrupt (WFI) */
	}
}
