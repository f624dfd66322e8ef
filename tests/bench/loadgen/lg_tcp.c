#include "lg_memif.h"

#include <stdio.h>

int lg_run_tcp(struct lg_port *p, const struct lg_options *o, const struct lg_workload *w,
	       struct lg_stats *s, double *seconds)
{
	(void)p; (void)o; (void)w; (void)s; (void)seconds;
	fprintf(stderr, "dpcache-loadgen: TCP over memif: not yet\n");
	return -1;
}
