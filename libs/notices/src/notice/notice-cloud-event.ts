import { CloudEvent } from 'cloudevents';
import type { Notice } from './notice.model';

/** The JSON object a notice becomes: a CloudEvents 1.0 event in structured mode. */
export type NoticeCloudEvent = CloudEvent<Notice['data']>;

/**
 * Encode a notice as a CloudEvents 1.0 event. Extension attributes (lower-case, as the spec requires):
 * `kmsurgent` (compromise), `kmstenant`, `kmsposition` (store position, for `GET /v1/notices?after=`).
 */
export function toCloudEvent(notice: Notice): NoticeCloudEvent {
  return new CloudEvent<Notice['data']>({
    specversion: '1.0',
    id: notice.id,
    type: notice.type,
    source: notice.source,
    subject: notice.subject,
    time: notice.time,
    datacontenttype: 'application/json',
    data: notice.data,
    kmsurgent: notice.urgent,
    kmstenant: notice.data.tenant ?? '',
    kmsposition: notice.position.toString(),
  });
}

/** The structured-mode JSON text of a notice (Kafka message value, HTTP body). */
export function noticeToJson(notice: Notice): string {
  return JSON.stringify(toCloudEvent(notice).toJSON());
}

/** The structured-mode JSON object of a notice, exactly as it goes on the wire (no undefined attributes). */
export function noticeToObject(notice: Notice): Record<string, unknown> {
  return JSON.parse(noticeToJson(notice)) as Record<string, unknown>;
}
