/*
 * kafka-mock: a Kafka test broker for the integration tests, built on librdkafka's mock cluster
 * (rdkafka_mock.h). It speaks the real Kafka wire protocol, so kafkajs and kcat talk to it as to a
 * real cluster; it keeps everything in memory and needs no JVM.
 *
 *   kafka-mock [--brokers N] [TOPIC[:PARTITIONS] ...]
 *
 * Prints "bootstrap=<host:port,...>" on one stdout line once the cluster is up, then reads commands
 * from stdin, one per line, answering "ok <command>" or "error <command>":
 *   down <broker-id> | up <broker-id>   take a broker off / back on the network (the mock's own API)
 *   down-all | up-all                   the same for every broker
 * It exits 0 on SIGTERM, SIGINT or when stdin is closed (so a test that dies takes it along).
 *
 * Topics are created here rather than by the client: librdkafka 2.0.2's mock reports controller id
 * 0, which kafkajs admin calls reject.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int set_all(rd_kafka_mock_cluster_t *cluster, int brokers, int up) {
  for (int id = 1; id <= brokers; id++) {
    rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id);
    if (err) return -1;
  }
  return 0;
}

/* Runs one stdin command; returns 0 when it succeeded. */
static int run_command(rd_kafka_mock_cluster_t *cluster, int brokers, const char *line) {
  int id;
  if (strcmp(line, "down-all") == 0) return set_all(cluster, brokers, 0);
  if (strcmp(line, "up-all") == 0) return set_all(cluster, brokers, 1);
  if (sscanf(line, "down %d", &id) == 1) return rd_kafka_mock_broker_set_down(cluster, id) ? -1 : 0;
  if (sscanf(line, "up %d", &id) == 1) return rd_kafka_mock_broker_set_up(cluster, id) ? -1 : 0;
  return -1;
}

int main(int argc, char **argv) {
  int brokers = 1;
  int first_topic = 1;
  if (argc > 2 && strcmp(argv[1], "--brokers") == 0) {
    brokers = atoi(argv[2]);
    first_topic = 3;
  }
  if (brokers < 1 || brokers > 16) {
    fprintf(stderr, "kafka-mock: --brokers must be between 1 and 16\n");
    return 2;
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the mock cluster and never connects anywhere: silence its "no bootstrap.servers" warning. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "kafka-mock: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "kafka-mock: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    fprintf(stderr, "kafka-mock: could not create the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  for (int i = first_topic; i < argc; i++) {
    char name[256];
    int partitions = 1;
    const char *colon = strchr(argv[i], ':');
    size_t len = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
    if (len == 0 || len >= sizeof(name)) {
      fprintf(stderr, "kafka-mock: bad topic \"%s\"\n", argv[i]);
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 2;
    }
    memcpy(name, argv[i], len);
    name[len] = '\0';
    if (colon) partitions = atoi(colon + 1);
    if (partitions < 1) partitions = 1;
    /* Replication factor = broker count, capped at 3 like a small real cluster. */
    int replication = brokers < 3 ? brokers : 3;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name, partitions, replication);
    if (err) {
      fprintf(stderr, "kafka-mock: creating topic %s: %s\n", name, rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);

  char line[256];
  size_t used = 0;
  while (!stop_requested) {
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    int ready = poll(&pfd, 1, 200);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) continue;
    ssize_t n = read(STDIN_FILENO, line + used, sizeof(line) - 1 - used);
    if (n <= 0) break; /* stdin closed: the parent is gone */
    used += (size_t)n;
    line[used] = '\0';
    char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = '\0';
      if (nl > line && nl[-1] == '\r') nl[-1] = '\0';
      if (line[0] != '\0') {
        int rc = run_command(cluster, brokers, line);
        printf("%s %s\n", rc == 0 ? "ok" : "error", line);
        fflush(stdout);
      }
      size_t rest = used - (size_t)(nl + 1 - line);
      memmove(line, nl + 1, rest);
      used = rest;
      line[used] = '\0';
    }
    if (used == sizeof(line) - 1) used = 0; /* an overlong line: drop it */
  }

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
