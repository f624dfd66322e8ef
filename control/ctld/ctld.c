/*
 * The state lifecycle: every change of the config, whether an operator's
 * command or a health transition, goes through ctld_commit(); every state
 * read from the store goes through ctld_adopt(). Both keep the invariant
 * that the published version only grows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ctld.h"

void ctld_log(const char *fmt, ...)
{
	struct timeval tv;
	struct tm tm;
	char when[32];
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ dpcache-ctld: ", when, (long)tv.tv_usec / 1000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ctld_commit(struct ctld *d, ctld_mutation fn, void *arg, char *err, size_t errlen)
{
	struct cfg next;
	char *doc;
	int rc;

	if (!d->leader) {
		snprintf(err, errlen, "not the leader");
		return -EPERM;
	}
	if (cfg_copy(&next, &d->cfg) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = fn(&next, arg, err, errlen);
	if (rc == 0)
		rc = cfg_build(&next);
	if (rc < 0) {
		cfg_free(&next);
		return rc;
	}
	next.version = d->cfg.version + 1;
	doc = cfg_to_json(&next);
	if (doc == NULL) {
		cfg_free(&next);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = d->store.ops->save(&d->store, doc, err, errlen);
	if (rc < 0) {
		d->n.store_errors++;
		ctld_log("store: save of version %" PRIu64 " failed: %s", next.version, err);
		cfg_free(&next);
		free(doc);
		return rc;
	}
	cfg_free(&d->cfg);
	d->cfg = next;
	free(d->doc);
	d->doc = doc;
	ctld_publish(d);
	return 0;
}

int ctld_adopt(struct ctld *d, const char *text, char *err, size_t errlen)
{
	struct cfg next;
	char *doc;
	int rc = cfg_from_json(&next, text, err, errlen);

	if (rc < 0)
		return rc;
	if (d->doc != NULL && next.version <= d->cfg.version) {
		cfg_free(&next); /* never go backwards */
		return 0;
	}
	doc = cfg_to_json(&next);
	if (doc == NULL) {
		cfg_free(&next);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cfg_free(&d->cfg);
	d->cfg = next;
	free(d->doc);
	d->doc = doc;
	ctld_publish(d);
	return 0;
}
