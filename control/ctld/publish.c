/*
 * Publication: every new version of the config goes to the --config-out file
 * (written crash-safely, like the state file, so a client reading it never
 * sees half a document) and to every `config watch` client.
 */
#include "ctld.h"

#include <stdio.h>

void ctld_publish(struct ctld *d)
{
	char err[256];

	d->n.versions_published++;
	if (d->opt.config_out != NULL &&
	    state_file_write(d->opt.config_out, d->doc, err, sizeof(err)) < 0)
		ctld_log("publish: %s", err);
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (d->clients[i].fd >= 0 && d->clients[i].watching)
			ctld_send_config(d, &d->clients[i]);
}
