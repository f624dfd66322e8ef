/*
 * dpcache-ctld: the control plane daemon. Options, the state lifecycle
 * (load, commit, adopt) and the poll loop.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ctld.h"

#define EXIT_USAGE 2

/* Options are data: this table drives parsing, defaults and --help. */
enum opt_type { OPT_STR, OPT_UINT };

struct opt_def {
	const char *name;
	const char *arg;
	enum opt_type type;
	size_t offset; /* in struct ctld_options */
	unsigned min, max;
	const char *help;
};

#define OFF(f) offsetof(struct ctld_options, f)

static const struct opt_def opt_table[] = {
	{"ctl-socket", "PATH", OPT_STR, OFF(ctl_socket), 0, 0, "control socket (mode 0660)"},
	{"state-file", "PATH", OPT_STR, OFF(state_file), 0, 0,
	 "state file (the local store; ignored with --zk)"},
	{"config-out", "PATH", OPT_STR, OFF(config_out), 0, 0,
	 "also write every published config to this file"},
	{"zk", "HOSTS", OPT_STR, OFF(zk_hosts), 0, 0,
	 "ZooKeeper store, e.g. 127.0.0.1:2181 (leader election among ctlds)"},
	{"zk-root", "PATH", OPT_STR, OFF(zk_root), 0, 0, "parent znode of dpcache's state"},
	{"zk-session", "MS", OPT_UINT, OFF(zk_session_ms), 1000, 60000,
	 "ZooKeeper session timeout: how fast a dead leader is replaced"},
	{"id", "NAME", OPT_STR, OFF(id), 0, 0, "this instance's name [hostname:pid]"},
	{"probe-interval", "MS", OPT_UINT, OFF(health.interval_ms), 10, 600000,
	 "between probes of a healthy server"},
	{"probe", "CMD", OPT_STR, OFF(probe), 0, 0,
	 "probe request: version, or mn (the meta protocol's no-op)"},
	{"probe-timeout", "MS", OPT_UINT, OFF(health.timeout_ms), 10, 60000,
	 "a probe with no good reply by then failed"},
	{"tko-after", "K", OPT_UINT, OFF(health.tko_after), 1, 1000,
	 "consecutive failed probes that make a server TKO"},
	{"recover-after", "M", OPT_UINT, OFF(health.recover_after), 1, 1000,
	 "consecutive good probes that end TKO"},
	{"backoff-max", "MS", OPT_UINT, OFF(health.backoff_max_ms), 10, 3600000,
	 "cap of the probe interval of a TKO server (it doubles per failure)"},
};

#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static volatile sig_atomic_t stop_signal;

static void defaults(struct ctld_options *o)
{
	static char id[HOST_NAME_MAX + 16];
	char host[HOST_NAME_MAX + 1] = "localhost";

	memset(o, 0, sizeof(*o));
	o->ctl_socket = CTL_DEFAULT_SOCKET;
	o->state_file = "/var/lib/dpcache/ctld-state.json";
	o->zk_root = "/dpcache";
	o->zk_session_ms = 4000;
	o->probe = "version";
	gethostname(host, sizeof(host) - 1);
	snprintf(id, sizeof(id), "%s:%d", host, (int)getpid());
	o->id = id;
	o->health = (struct health_params){.interval_ms = 1000,
					   .timeout_ms = 500,
					   .tko_after = 3,
					   .recover_after = 2,
					   .backoff_max_ms = 8000};
}

static void usage(FILE *out)
{
	struct ctld_options d;

	defaults(&d);
	fprintf(out, "usage: dpcache-ctld [options]\n\noptions:\n");
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *o = &opt_table[i];
		char left[48], dflt[64] = "";
		const void *p = (const char *)&d + o->offset;

		snprintf(left, sizeof(left), "--%s %s", o->name, o->arg);
		if (o->type == OPT_UINT)
			snprintf(dflt, sizeof(dflt), " [%u]", *(const unsigned *)p);
		else if (*(const char *const *)p != NULL && strcmp(o->name, "id") != 0)
			snprintf(dflt, sizeof(dflt), " [%s]", *(const char *const *)p);
		fprintf(out, "  %-24s %s%s\n", left, o->help, dflt);
	}
}

static int parse_options(int argc, char **argv, struct ctld_options *opt)
{
	struct option longopts[N_OPTS + 2];
	int c;

	defaults(opt);
	for (size_t i = 0; i < N_OPTS; i++)
		longopts[i] = (struct option){opt_table[i].name, required_argument, NULL, (int)i};
	longopts[N_OPTS] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[N_OPTS + 1] = (struct option){NULL, 0, NULL, 0};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		const struct opt_def *o;
		void *p;
		char *end;
		unsigned long v;

		if (c == 'h') {
			usage(stdout);
			exit(EXIT_SUCCESS);
		}
		if (c < 0 || c >= (int)N_OPTS) {
			fprintf(stderr, "dpcache-ctld: unknown option or missing value: '%s'\n",
				argv[optind - 1]);
			return -1;
		}
		o = &opt_table[c];
		p = (char *)opt + o->offset;
		if (o->type == OPT_STR) {
			if (optarg[0] == '\0') {
				fprintf(stderr, "dpcache-ctld: --%s: empty value\n", o->name);
				return -1;
			}
			*(const char **)p = optarg;
			continue;
		}
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (optarg[0] == '\0' || optarg[0] == '-' || *end != '\0' || errno != 0 ||
		    v < o->min || v > o->max) {
			fprintf(stderr, "dpcache-ctld: --%s: '%s' is not %u..%u\n", o->name, optarg,
				o->min, o->max);
			return -1;
		}
		*(unsigned *)p = (unsigned)v;
	}
	if (optind < argc) {
		fprintf(stderr, "dpcache-ctld: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (strcmp(opt->probe, "version") != 0 && strcmp(opt->probe, "mn") != 0) {
		fprintf(stderr, "dpcache-ctld: --probe: '%s' is not version or mn\n", opt->probe);
		return -1;
	}
	opt->health.meta = strcmp(opt->probe, "mn") == 0;
	if (opt->health.timeout_ms > opt->health.interval_ms * 10) {
		fprintf(stderr, "dpcache-ctld: --probe-timeout must be at most 10 intervals\n");
		return -1;
	}
	return 0;
}

static int load_store(struct ctld *d)
{
	char err[256], *doc = NULL;
	int rc = d->store.ops->load(&d->store, &doc, err, sizeof(err));

	if (rc == 0 && doc != NULL)
		rc = ctld_adopt(d, doc, err, sizeof(err));
	free(doc);
	if (rc < 0) {
		d->n.store_errors++;
		ctld_log("store: cannot load the state: %s", err);
	}
	return rc;
}

static int set_tko(struct cfg *c, void *arg, char *err, size_t errlen)
{
	const char *const *a = arg;

	return cfg_server_set_tko(c, a[0], a[1] != NULL, err, errlen);
}

static void on_transition(void *ctx, const char *addr, int tko, const char *why)
{
	struct ctld *d = ctx;
	const char *args[2] = {addr, tko ? "tko" : NULL};
	char err[256];

	ctld_log("health: %s %s (%s)", addr,
		 tko ? "is TKO, its keys go to the gutter" : "recovered, its keys come back", why);
	if (ctld_commit(d, set_tko, (void *)args, err, sizeof(err)) < 0)
		ctld_log("health: cannot publish the change of %s: %s", addr, err);
}

/*
 * Follow the server registry (ZooKeeper): a server whose ephemeral node
 * vanished has likely died, so probe it now rather than at its next turn.
 * Only probes make a server TKO: a registry hiccup cannot take one down.
 */
static void registry_update(struct ctld *d, int act)
{
	uint64_t now = health_now_ms();

	for (size_t i = 0; i < d->health.n; i++) {
		struct probe *p = &d->health.probes[i];
		int reg = d->store.ops->registered(&d->store, p->addr);

		if (act && p->registered == 1 && reg == 0) {
			ctld_log("registry: %s unregistered; probing it now", p->addr);
			health_probe_now(p, now);
		} else if (act && p->registered == 0 && reg == 1) {
			ctld_log("registry: %s registered", p->addr);
		}
		p->registered = reg;
	}
}

static void on_store_events(struct ctld *d)
{
	unsigned ev = d->store.ops->process(&d->store);
	int leader = d->store.ops->is_leader(&d->store);

	if ((ev & STORE_EV_ROLE) || leader != d->leader) {
		char role[256];

		d->store.ops->describe(&d->store, role, sizeof(role));
		ctld_log("store: %s", role);
		if (leader && !d->leader) {
			load_store(d); /* the newest state, before any change of ours */
			d->synced = UINT64_MAX;
		}
		if (!leader)
			health_stop(&d->health);
		d->leader = leader;
	}
	if (ev & STORE_EV_CHANGED)
		load_store(d);
	if ((ev & STORE_EV_SERVERS) && d->leader)
		registry_update(d, 1);
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int run(struct ctld *d)
{
	struct pollfd *fds = NULL;
	size_t cap = 0;
	uint64_t last = health_now_ms();
	/* The loop turns at least every second; a longer gap means we stalled. */
	const uint64_t stall_ms = 3000 + d->opt.health.timeout_ms;

	while (!stop_signal) {
		uint64_t now = health_now_ms(), wait = 1000;
		size_t n_ctl, n_probe, n;
		int store_fd = d->store.ops->fd(&d->store), rc;

		if (now - last > stall_ms) {
			ctld_log("stalled for %" PRIu64 " ms: probes in flight are discarded, "
				 "not counted",
				 now - last);
			health_resume(&d->health, now);
		}
		last = now;
		if (d->leader) {
			if (d->synced != d->cfg.version) {
				health_sync(&d->health, &d->cfg, now);
				registry_update(d, 0);
				d->synced = d->cfg.version;
			}
			wait = health_tick(&d->health, now);
			if (d->synced != d->cfg.version)
				wait = 0;
		}
		if (cap < 2 + CTL_CLIENTS_MAX + d->health.n) {
			cap = 2 + CTL_CLIENTS_MAX + d->health.n;
			free(fds);
			fds = malloc(cap * sizeof(*fds));
			if (fds == NULL) {
				ctld_log("out of memory");
				return -1;
			}
		}
		n_ctl = ctl_socket_pollfds(d, fds, 1 + CTL_CLIENTS_MAX);
		n_probe = d->leader ? health_pollfds(&d->health, fds + n_ctl, d->health.n) : 0;
		n = n_ctl + n_probe;
		if (store_fd >= 0)
			fds[n++] = (struct pollfd){.fd = store_fd, .events = POLLIN};
		rc = poll(fds, n, (int)wait);
		if (rc < 0 && errno != EINTR) {
			ctld_log("poll: %s", strerror(errno));
			break;
		}
		now = health_now_ms();
		for (size_t i = 0; rc > 0 && i < n; i++) {
			if (fds[i].revents == 0)
				continue;
			if (i < n_ctl)
				ctl_socket_input(d, fds[i].fd, fds[i].revents);
			else if (i < n_ctl + n_probe)
				health_input(&d->health, fds[i].fd, fds[i].revents, now);
		}
		if (store_fd >= 0)
			on_store_events(d);
	}
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	static struct ctld d;
	struct sigaction sa = {.sa_handler = on_signal};
	char err[256];
	int rc;

	if (parse_options(argc, argv, &d.opt) < 0)
		return EXIT_USAGE;
	d.listen_fd = -1;
	d.started_ms = health_now_ms();
	health_init(&d.health, &d.opt.health);
	d.health.on_transition = on_transition;
	d.health.ctx = &d;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (d.opt.zk_hosts != NULL)
		rc = store_zk_open(&d.store, d.opt.zk_hosts, d.opt.zk_root, d.opt.id,
				   (int)d.opt.zk_session_ms, err, sizeof(err));
	else
		rc = store_file_open(&d.store, d.opt.state_file, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "dpcache-ctld: %s\n", err);
		return EXIT_FAILURE;
	}
	d.doc = cfg_to_json(&d.cfg);
	if (d.doc == NULL || load_store(&d) < 0) {
		fprintf(stderr, "dpcache-ctld: cannot load the state (see above)\n");
		d.store.ops->close(&d.store);
		return EXIT_FAILURE;
	}
	if (ctl_socket_open(&d, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpcache-ctld: %s\n", err);
		d.store.ops->close(&d.store);
		return EXIT_FAILURE;
	}
	d.leader = d.store.ops->is_leader(&d.store);
	d.synced = UINT64_MAX;
	{
		char role[256];

		d.store.ops->describe(&d.store, role, sizeof(role));
		ctld_log("%s: version %" PRIu64 ", %zu servers, control socket %s", role,
			 d.cfg.version, d.cfg.n_servers, d.opt.ctl_socket);
	}
	if (d.opt.config_out != NULL)
		ctld_publish(&d);
	run(&d);
	ctld_log("stopping (signal %d)", (int)stop_signal);
	health_fini(&d.health);
	ctl_socket_close(&d);
	d.store.ops->close(&d.store);
	cfg_free(&d.cfg);
	free(d.doc);
	return EXIT_SUCCESS;
}
