/* SPDX-License-Identifier: MIT */
/*
 * bleota image sign / info / verify --key, run as a program with keys
 * generated at test time: a round trip for RSA-3072, ECDSA P-256 (two
 * blocks) and P-384, the exit codes (0 ok, 1 failure, 2 usage), and what
 * info says about valid, tampered and foreign signatures. A signed file
 * is then accepted by an engine that trusts the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "central/commands.h"
#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/sigkeys.h"
#include "tests/harness/tmpdir.h"

static const char *pem(enum ota_sig_scheme s, unsigned int idx, bool priv,
		       char *path, size_t cap)
{
	char name[64];

	snprintf(name, sizeof(name), "key-%d-%u-%s.pem", (int)s, idx,
		 priv ? "priv" : "pub");
	tmpdir_path(path, cap, name);
	sigkey_write_pem(sigkey_get(s, idx), path, priv);
	return path;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	uint8_t *buf;
	FILE *fp = fopen(path, "rb");
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void write_all(const char *path, const uint8_t *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

static void hexs(char *out, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void test_sign_rsa_round_trip(void **state)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = "2.0.0",
				     .project = "demo",
				     .seed = 5 };
	char out[8192], app[512], sig[512], bad[512], rsa[512], rsa_pub[512],
		ec[512], line[200], kd_hex[65];
	uint8_t kd[32], *img, *buf;
	size_t len, slen;

	(void)state;
	img = esp_image_build(&sp, &len);
	write_all(tmpdir_path(app, sizeof(app), "app.bin"), img, len);
	pem(OTA_SIG_RSA3072, 0, true, rsa, sizeof(rsa));
	pem(OTA_SIG_RSA3072, 0, false, rsa_pub, sizeof(rsa_pub));
	pem(OTA_SIG_ECDSA_P256, 0, true, ec, sizeof(ec));
	tmpdir_path(sig, sizeof(sig), "app-signed.bin");
	tmpdir_path(bad, sizeof(bad), "app-bad.bin");

	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s %s %s", rsa, app, sig),
			 0);
	assert_non_null(strstr(out, "1 RSA-3072 block"));
	buf = read_all(sig, &slen);
	assert_int_equal(slen % 4096, 0);
	assert_int_equal(slen, ((len + 4095) / 4096 + 1) * 4096);
	assert_memory_equal(buf, img, len);

	/* info: the block, its key digest, valid */
	sigkey_digest(OTA_SIG_RSA3072, 0, kd);
	hexs(kd_hex, kd, 32);
	snprintf(line, sizeof(line),
		 "block 0:       RSA-3072, key digest %s "
		 "(valid)",
		 kd_hex);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", sig), 0);
	assert_non_null(strstr(out, line));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", app), 0);
	assert_non_null(strstr(out, "signature:       none"));

	/* verify --key: public or private PEM; another key fails */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", rsa_pub, sig),
			 0);
	assert_non_null(strstr(out, "signature block 0 (RSA-3072) verifies"));
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", rsa, sig),
			 0);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", ec, sig),
			 1);
	assert_non_null(
		strstr(out, "no signature block is made with this key"));
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", rsa, app),
			 1);
	assert_non_null(strstr(out, "not signed"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image verify %s", sig),
			 0);

	/* padding changed after signing: image valid, signature not */
	buf[len + 1] ^= 0x01;
	write_all(bad, buf, slen);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", rsa, bad),
			 1);
	assert_non_null(strstr(out, "signs another image"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", bad), 0);
	assert_non_null(strstr(out, "(INVALID: signs another image"));
	buf[len + 1] ^= 0x01;
	/* a flipped signature byte breaks the block CRC */
	buf[slen - 4096 + 1000] ^= 0x01;
	write_all(bad, buf, slen);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", rsa, bad),
			 1);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", bad), 0);
	assert_non_null(strstr(out, "INVALID: block CRC mismatch"));
	free(buf);
	free(img);
}

static void test_sign_ecdsa_and_errors(void **state)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = "2.0.0",
				     .project = "demo",
				     .seed = 6 };
	char out[8192], app[512], sig[512], k0[512], k1[512], k384[512],
		k384_pub[512], rsa[512];
	uint8_t *img;
	size_t len;

	(void)state;
	img = esp_image_build(&sp, &len);
	write_all(tmpdir_path(app, sizeof(app), "app2.bin"), img, len);
	free(img);
	pem(OTA_SIG_ECDSA_P256, 0, true, k0, sizeof(k0));
	pem(OTA_SIG_ECDSA_P256, 1, true, k1, sizeof(k1));
	pem(OTA_SIG_ECDSA_P384, 0, true, k384, sizeof(k384));
	pem(OTA_SIG_ECDSA_P384, 0, false, k384_pub, sizeof(k384_pub));
	pem(OTA_SIG_RSA3072, 0, true, rsa, sizeof(rsa));
	tmpdir_path(sig, sizeof(sig), "app2-signed.bin");

	/* two P-256 blocks: either key verifies */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s --key %s %s %s", k0,
				    k1, app, sig),
			 0);
	assert_non_null(strstr(out, "2 ECDSA-P256 blocks"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", sig), 0);
	assert_non_null(strstr(out, "block 1:       ECDSA-P256"));
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", k1, sig),
			 0);
	assert_non_null(strstr(out, "signature block 1 (ECDSA-P256)"));

	/* P-384 (SHA-384 digest) */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s %s %s", k384, app,
				    sig),
			 0);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", k384_pub, sig),
			 0);
	/* re-signing a signed file replaces its sector */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s %s %s", k0, sig, sig),
			 0);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", k0, sig),
			 0);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s %s", k384_pub, sig),
			 1);

	/* failures and usage errors */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s --key %s %s %s", k0,
				    rsa, app, sig),
			 1);
	assert_non_null(strstr(out, "same scheme"));
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s %s %s", k384_pub, app,
				    sig),
			 1);
	assert_non_null(strstr(out, "a public key cannot sign"));
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s %s %s", app, app, sig),
			 1);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s %s %s", k0, k0, sig),
			 1);
	assert_non_null(strstr(out, "not a valid app image"));
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image sign %s %s", app, sig), 2);
	assert_int_equal(
		e2e_bleota(out, sizeof(out),
			   "image sign --key %s --key %s --key %s --key %s "
			   "%s %s",
			   k0, k0, k0, k0, app, sig),
		2);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --key %s --key %s %s", k0, k1,
				    sig),
			 2);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image info --key %s %s", k0, sig),
		2);
}

/* What the CLI signs, the engine accepts (and refuses with another key). */
static void test_signed_file_on_device(void **state)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = "1.0.0",
				     .project = "demo",
				     .secure_version = 2,
				     .seed = 7 };
	struct ota_engine_manifest m;
	char out[8192], app[512], sig[512], key[512];
	uint8_t *img, *buf;
	size_t len, slen;
	struct dev d;

	(void)state;
	img = esp_image_build(&sp, &len);
	write_all(tmpdir_path(app, sizeof(app), "app3.bin"), img, len);
	pem(OTA_SIG_RSA3072, 0, true, key, sizeof(key));
	tmpdir_path(sig, sizeof(sig), "app3-signed.bin");
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image sign --key %s %s %s", key, app, sig),
			 0);
	buf = read_all(sig, &slen);

	sp.version = "0.9.0";
	sp.secure_version = 0;
	sp.seed = 8;
	free(img);
	img = esp_image_build(&sp, &len);
	dev_create(&d, "cli-signed.bin", NULL, img, len);
	sigkey_digest(OTA_SIG_RSA3072, 0, d.cfg.trusted_key_digest[0]);
	d.cfg.trusted_key_count = 1;
	assert_int_equal(dev_power_on(&d), 0);
	dev_manifest(buf, slen, &m);
	assert_int_equal(ota_engine_begin_signed(&d.eng, &m, buf + slen - 4096,
						 4096, OTA_ENGINE_SIG_IN_IMAGE),
			 0);
	assert_int_equal(dev_send_blocks(&d, buf, slen, 512), 0);
	assert_int_equal(ota_engine_finish(&d.eng), 0);
	assert_int_equal(ota_engine_commit(&d.eng), 0);
	assert_int_equal(dev_power_on(&d), 1);
	assert_int_equal(ota_engine_confirm(&d.eng), 0);
	dev_power_off(&d);
	/* flash info shows the persisted anti-rollback counter */
	assert_int_equal(e2e_bleota(out, sizeof(out), "flash info %s", d.path),
			 0);
	assert_non_null(strstr(out, "anti-rollback counter (simulated eFuse "
				    "secure_version): 2\n"));
	free(buf);
	free(img);
}

static int group_teardown(void **state)
{
	(void)state;
	sigkey_free_all();
	return 0;
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/cli/sign/rsa-round-trip", test_sign_rsa_round_trip, NULL,
		  NULL, NULL },
		{ "/cli/sign/ecdsa-and-errors", test_sign_ecdsa_and_errors,
		  NULL, NULL, NULL },
		{ "/cli/sign/accepted-by-engine", test_signed_file_on_device,
		  NULL, NULL, NULL },
	};
	int rc;

	e2e_init();
	rc = cmocka_run_group_tests_name("cli-sign", tests, NULL,
					 group_teardown);
	tmpdir_cleanup();
	return rc;
}
