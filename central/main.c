/* SPDX-License-Identifier: MIT */
/*
 * bleota: command-line entry. Dispatches on the first argument through the
 * command table below; each command parses its own options (getopt_long)
 * and has --help. Exit codes: 0 success, 1 failure, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "central/commands.h"
#include "version.h" /* generated: $(O)/version.h */

static const struct bleota_cmd commands[] = {
	{ "scan", cmd_scan, "list Bluetooth devices offering bleota" },
	{ "push", cmd_push, "send an app image to a device, verify, commit" },
	{ "info", cmd_device, "what a device is and runs" },
	{ "status", cmd_device, "a device's boot state and update session" },
	{ "confirm", cmd_device, "keep the new image running on a device" },
	{ "rollback", cmd_device, "reject a device's running image" },
	{ "reboot", cmd_device, "restart a device" },
	{ "abort", cmd_device, "end a device's update session" },
	{ "image", cmd_image,
	  "inspect, verify or sign an app image; diff, patch (deltas)" },
	{ "flash", cmd_flash, "create or inspect a simulated device flash" },
	{ "part", cmd_part, "convert partition tables (CSV <-> binary)" },
	{ "serve", cmd_serve,
	  "keep devices at their desired versions (gateway)" },
};

static void usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: bleota COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(fp, "\n'bleota COMMAND --help' describes a command.\n"
		    "'bleota --version' prints the release.\n"
		    "exit status: 0 success, 1 failure, 2 usage error\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return BLEOTA_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("bleota %s%s%s%s\n", BLEOTA_VERSION,
		       *BLEOTA_GIT ? " (git " : "", BLEOTA_GIT,
		       *BLEOTA_GIT ? ")" : "");
		return BLEOTA_EXIT_OK;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return BLEOTA_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "bleota: unknown command '%s': see 'bleota --help'\n",
		argv[1]);
	return BLEOTA_EXIT_USAGE;
}
