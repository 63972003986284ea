import type { KmsClient } from '@kms/contracts';
import { KmsError, parseFollowUp } from '@kms/domain';
import { CliUsageError } from '../request/cli-usage.error';

/** What `kms drill record` takes: `--participants` repeated or comma-separated, `--follow-up owner:action` repeated. */
export interface DrillRecordOptions {
  date: string;
  participants: string[];
  archive: string;
  outcome: string;
  followUp: string[];
}

/** The RecordDrill request of a drill (also what `scripts/restore.sh --record-drill` sends). */
export function recordDrillRequest(o: DrillRecordOptions): Record<string, unknown> {
  let followUps: Array<{ owner: string; action: string }>;
  try {
    followUps = o.followUp.map((f) => parseFollowUp(f, 'follow-up'));
  } catch (e) {
    if (e instanceof KmsError) throw new CliUsageError(e.message, 'follow-up');
    throw e;
  }
  const participants = o.participants.flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== '');
  return { date: o.date, participants, archive: o.archive, outcome: o.outcome.toUpperCase(), follow_ups: followUps };
}

type DrillFollowUpMsg = {
  follow_up_id: number;
  owner: string;
  action: string;
  due_date: string;
  drill_id: string;
  overdue: boolean;
};
type DrillStatusMsg = {
  recorded?: { drill_id: string; date: string; outcome: string; follow_ups: DrillFollowUpMsg[] };
  monthly_drill_overdue: boolean;
  next_drill_due: string;
  open_follow_ups: DrillFollowUpMsg[];
};

/** `kms drill record …`: record a drill (a DrillRecorded event); prints its id and each follow-up's due date. */
export async function drillRecord(client: KmsClient, token: string | undefined, o: DrillRecordOptions, io: { stdout: (s: string) => void }): Promise<number> {
  if (!token) throw new CliUsageError('drill record needs a person\'s token: kms login, or KMS_TOKEN', 'token');
  const r = await client.call<DrillStatusMsg>('RecordDrill', recordDrillRequest(o), { token });
  io.stdout(`drill\t${r.recorded?.drill_id ?? ''}\t${r.recorded?.date ?? ''}\t${r.recorded?.outcome ?? ''}\n`);
  for (const f of r.recorded?.follow_ups ?? []) io.stdout(`follow-up\t${f.follow_up_id}\t${f.owner}\tdue ${f.due_date}\t${f.action}\n`);
  return 0;
}

/** `kms drill status`: the next drill's due date and the open follow-ups; exit 1 when anything is overdue. */
export async function drillStatus(client: KmsClient, token: string | undefined, io: { stdout: (s: string) => void }): Promise<number> {
  if (!token) throw new CliUsageError('drill status needs a token: kms login, or KMS_TOKEN', 'token');
  const s = await client.call<DrillStatusMsg>('GetDrillStatus', {}, { token });
  io.stdout(`monthly drill\t${s.monthly_drill_overdue ? 'OVERDUE' : 'on time'}\tnext due ${s.next_drill_due || '(no drill recorded)'}\n`);
  for (const f of s.open_follow_ups) io.stdout(`follow-up\t${f.drill_id}\t${f.follow_up_id}\t${f.owner}\tdue ${f.due_date}${f.overdue ? '\tOVERDUE' : ''}\t${f.action}\n`);
  return s.monthly_drill_overdue || s.open_follow_ups.some((f) => f.overdue) ? 1 : 0;
}
