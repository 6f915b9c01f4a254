/*
 * The machine's identity, from RUN rather than from the kernel command line, so that a VM restored from a
 * snapshot taken before RUN becomes its own machine: eth0's MAC, address and default route, and a kernel
 * random pool reseeded from the host's bytes.
 */
#ifndef HEARTH_NETCONF_H
#define HEARTH_NETCONF_H

#include <stddef.h>

struct netconf {
	char name[16];     /* the interface, "eth0" */
	unsigned char mac[6];
	unsigned int address; /* network byte order */
	unsigned int netmask;
	unsigned int gateway; /* 0: no default route */
};

/* Parses RUN's NET_ADDRESS ("a.b.c.d/p"), NET_GATEWAY (may be NULL) and NET_MAC; 0, or 1 with a message. */
int netconf_parse(const char *address, const char *gateway, const char *mac, struct netconf *out,
		  char *err, size_t errlen);
/* Sets the MAC, the address and mask, brings the interface up and adds the default route; 0, or 1. */
int netconf_apply(const struct netconf *n, char *err, size_t errlen);
/* Mixes seed into the kernel's input pool, credited, and reseeds its generator now; 0, or 1. */
int netconf_reseed_random(const void *seed, size_t len, char *err, size_t errlen);

#endif
