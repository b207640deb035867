// Channel settings the bots page shows as switches, and how it words the
// server's refusals that a person caused.

/** operatorNames is the Telegram channel's setting: operators' messages carry their name ("on", the default, or "off"). */
export const operatorNames = 'operator_names';

/** switches are settings shown as a switch on the channel's card, not as a field when connecting. */
export const switches: ReadonlySet<string> = new Set([operatorNames]);

/** signsOperators says whether a channel with settings puts operators' names on their messages (on unless "off"). */
export function signsOperators(settings: Record<string, string> | undefined): boolean {
  return settings?.[operatorNames] !== 'off';
}

/** withOperatorNames is settings with the switch set, the other settings kept (the API replaces them whole). */
export function withOperatorNames(settings: Record<string, string> | undefined, on: boolean): Record<string, string> {
  return { ...(settings ?? {}), [operatorNames]: on ? 'on' : 'off' };
}

/** conflictKey names a 409 of the bots API in the page's words. */
export function conflictKey(message: string): 'botTaken' | 'botChangedElsewhere' | 'alreadyConnected' {
  if (message.includes('exists')) return 'botTaken';
  if (message.includes('changed by someone else')) return 'botChangedElsewhere';
  return 'alreadyConnected';
}
