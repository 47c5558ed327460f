/*
 * A Kafka-protocol broker for tests: librdkafka's mock cluster (Debian librdkafka-dev) run standalone.
 * It is a real TCP server speaking the Kafka wire protocol (Metadata, Produce, Fetch, ListOffsets, consumer
 * groups, offset commits), with no persistence. It is not Apache Kafka.
 *
 *   kafka-broker <brokers> [topic:partitions ...]
 *
 * Prints the bootstrap list (127.0.0.1:port,...) as its first stdout line, then reads commands on stdin,
 * one per line, answering "ok" or "error: ..." on stdout:
 *   down <id|all>            brokers stop answering (connections are closed, new ones refused)
 *   up <id|all>              brokers serve again
 *   topic <name> <parts>     create a topic
 *   fail <apikey> <error>    the next request of that API (e.g. 14 SyncGroup) is answered with that error code
 *   delay <apikey> <ms>      the next request of that API is handled as usual (a Produce is appended) and answered
 *                            <ms> later, on every broker: a client whose request times out meanwhile sends it again
 *   missing <name>           the topic does not exist: Metadata answers UNKNOWN_TOPIC_OR_PARTITION for it, as a
 *                            Kafka with auto.create.topics.enable=false does (the mock has no such switch: it
 *                            creates any topic a client asks to create, so the test names the topics it refuses)
 * It exits when stdin ends, so a test that dies takes its broker with it.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_state(rd_kafka_mock_cluster_t *mc, int brokers, const char *which, int up) {
  int first = 1, last = brokers;
  if (strcmp(which, "all") != 0) first = last = atoi(which);
  for (int id = first; id <= last; id++) {
    if (up) rd_kafka_mock_broker_set_up(mc, id);
    else rd_kafka_mock_broker_set_down(mc, id);
  }
}

int main(int argc, char **argv) {
  char err[512];
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  if (brokers < 1) brokers = 1;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "kafka-broker: rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "kafka-broker: cannot create the mock cluster\n");
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    char name[256];
    int parts = 1;
    if (sscanf(argv[i], "%255[^:]:%d", name, &parts) >= 1) rd_kafka_mock_topic_create(mc, name, parts, 1);
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[512];
  while (fgets(line, sizeof line, stdin)) {
    char cmd[32], a[256];
    int n = 0;
    int fields = sscanf(line, "%31s %255s %d", cmd, a, &n);
    if (fields >= 2 && strcmp(cmd, "down") == 0) set_state(mc, brokers, a, 0);
    else if (fields >= 2 && strcmp(cmd, "up") == 0) set_state(mc, brokers, a, 1);
    else if (fields == 3 && strcmp(cmd, "topic") == 0) rd_kafka_mock_topic_create(mc, a, n, 1);
    else if (fields == 3 && strcmp(cmd, "delay") == 0)
      for (int id = 1; id <= brokers; id++)
        rd_kafka_mock_broker_push_request_error_rtts(mc, id, (int16_t)atoi(a), 1, RD_KAFKA_RESP_ERR_NO_ERROR, n);
    else if (fields >= 2 && strcmp(cmd, "missing") == 0)
      rd_kafka_mock_topic_set_error(mc, a, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    else if (fields == 3 && strcmp(cmd, "fail") == 0)
      rd_kafka_mock_push_request_errors(mc, (int16_t)atoi(a), 1, (rd_kafka_resp_err_t)n);
    else {
      printf("error: unknown command\n");
      fflush(stdout);
      continue;
    }
    printf("ok\n");
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
