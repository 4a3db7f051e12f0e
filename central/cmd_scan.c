/* SPDX-License-Identifier: MIT */
/*
 * bleota scan: list the Bluetooth devices advertising the bleota service
 * (address, name, RSSI). Option parsing only; bluez.c does the scan.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "central/bluez.h"
#include "central/commands.h"
#include "host/hlog.h"

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
	bool json = false;
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
			json = true;
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
	return bluez_scan(&o, json);
}
