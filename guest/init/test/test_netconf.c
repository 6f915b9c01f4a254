/* netconf_parse: RUN's network identity, and what it refuses. */
#include "check.h"
#include "netconf.h"

#include <arpa/inet.h>

int main(void)
{
	struct netconf n;
	char err[256];
	CHECK(netconf_parse("10.88.0.5/16", "10.88.0.1", "02:ab:cd:00:11:ff", &n, err, sizeof(err)) == 0);
	CHECK(n.address == inet_addr("10.88.0.5"));
	CHECK(n.netmask == inet_addr("255.255.0.0"));
	CHECK(n.gateway == inet_addr("10.88.0.1"));
	CHECK(n.mac[0] == 0x02 && n.mac[1] == 0xab && n.mac[5] == 0xff);
	CHECK_STR(n.name, "eth0");
	CHECK(netconf_parse("10.0.0.2/32", NULL, "02:00:00:00:00:01", &n, err, sizeof(err)) == 0);
	CHECK(n.gateway == 0 && n.netmask == 0xffffffffu);
	CHECK(netconf_parse("10.0.0.2/0", NULL, "02:00:00:00:00:01", &n, err, sizeof(err)) == 0);
	CHECK(n.netmask == 0);

	CHECK(netconf_parse("10.0.0.2", NULL, "02:00:00:00:00:01", &n, err, sizeof(err)) == 1);
	CHECK(netconf_parse("10.0.0.2/33", NULL, "02:00:00:00:00:01", &n, err, sizeof(err)) == 1);
	CHECK(netconf_parse("10.0.0.2/", NULL, "02:00:00:00:00:01", &n, err, sizeof(err)) == 1);
	CHECK(netconf_parse("10.0.0.2/8x", NULL, "02:00:00:00:00:01", &n, err, sizeof(err)) == 1);
	CHECK(netconf_parse("10.0.0.256/8", NULL, "02:00:00:00:00:01", &n, err, sizeof(err)) == 1);
	CHECK(netconf_parse("10.0.0.2/8", "gw", "02:00:00:00:00:01", &n, err, sizeof(err)) == 1);
	CHECK(netconf_parse("10.0.0.2/8", NULL, "02:00:00:00:00", &n, err, sizeof(err)) == 1);
	CHECK(netconf_parse("10.0.0.2/8", NULL, "02:00:00:00:00:01:02", &n, err, sizeof(err)) == 1);
	CHECK(netconf_parse("10.0.0.2/8", NULL, NULL, &n, err, sizeof(err)) == 1);
	CHECK_DONE();
}
