// Topic creation settings are part of the one configuration (libs/config); re-exported for the Kafka adapters.
export { DEFAULT_KAFKA_TOPIC_SETTINGS, type KafkaTopicSettings } from '@kms/config';
