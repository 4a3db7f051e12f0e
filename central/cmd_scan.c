/* SPDX-License-Identifier: MIT */
/*
 * bleota scan: list the Bluetooth devices advertising the bleota service
 * (address, name, RSSI). Options and output here; bluez.c does the scan.
 * With --json, one "device" event per device, and a failure is an "error"
 * event on stdout like every other command's (bleota serve reads both).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "central/bluez.h"
#include "central/commands.h"
#include "central/report.h"
#include "host/hlog.h"

struct scan_out {
	bool json;
	unsigned int shown;
};

static void print_device(const char *address, const char *name, int rssi,
			 bool has_rssi, void *user_data)
{
	struct scan_out *o = user_data;
	char a[64], n[512];

	o->shown++;
	if (o->json) {
		json_escape(a, sizeof(a), address);
		json_escape(n, sizeof(n), name);
		printf("{\"event\":\"device\",\"address\":\"%s\",\"name\":"
		       "\"%s\",\"rssi\":%d}\n",
		       a, n, has_rssi ? rssi : 0);
	} else if (has_rssi) {
		printf("%s  %-20s  %d dBm\n", address, tty_text(name), rssi);
	} else {
		printf("%s  %-20s\n", address, tty_text(name));
	}
	fflush(stdout);
}

static void scan_usage(FILE *fp)
{
	fprintf(fp,
		"usage: bleota scan [--timeout S] [--adapter hciN] [--json] "
		"[-v]\n"
		"\n"
		"List Bluetooth devices advertising the bleota service: "
		"address,\n"
		"name, RSSI. Needs bluetoothd and a powered adapter.\n"
		"\n"
		"  -t, --timeout S     scan for S seconds, 1..3600 (default "
		"10)\n"
		"  -i, --adapter hciN  the Bluetooth adapter to use\n"
		"  --json              one JSON object per line on stdout\n"
		"  -v                  more detail on stderr\n"
		"\n"
		"exit: 0 done (also when nothing was found), 2 usage,\n"
		"      5 no bluetoothd or no usable adapter\n");
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "adapter", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bluez_opts o = { .timeout_s = 10 };
	struct scan_out out = { 0 };
	bool json = false;
	char why[512];
	int ch, verbose = HLOG_WARN;
	unsigned long v;
	char *end;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "i:t:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			v = strtoul(optarg, &end, 0);
			if (*end || v < 1 || v > 3600) {
				fprintf(stderr,
					"bleota: --timeout %s: seconds, "
					"1..3600\n",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			o.timeout_s = (unsigned int)v;
			break;
		case 'i':
			o.adapter = optarg;
			break;
		case 'j':
			json = out.json = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			scan_usage(stdout);
			return BLEOTA_EXIT_OK;
		default:
			scan_usage(stderr);
			return BLEOTA_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		scan_usage(stderr);
		return BLEOTA_EXIT_USAGE;
	}
	hlog_init("bleota", verbose);
	report_init(json);
	if (!json)
		fprintf(stderr, "scanning for bleota devices on %s for %u s\n",
			o.adapter ? o.adapter : "the first adapter",
			o.timeout_s);
	if (bluez_scan(&o, print_device, &out, why, sizeof(why)) < 0) {
		report_error(BLEOTA_EXIT_TRANSPORT, NULL, why, NULL);
		return BLEOTA_EXIT_TRANSPORT;
	}
	if (!out.shown && !json)
		fprintf(stderr, "no bleota devices found: are they powered "
				"and advertising?\n");
	return BLEOTA_EXIT_OK;
}
