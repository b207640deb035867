// The state of the selected bot's channels, beside the bot selector: a
// marketer sees at once that Telegram is down while the web chat works.
import { useEffect, useState } from 'react';
import * as api from './api';
import { allConnected, channelView } from './channels';
import { useI18n } from './i18n';

/** ChannelBadges shows one badge per channel; nothing while the list is unknown or empty. */
export function ChannelBadges({ channels, now }: { channels: readonly api.ChannelInfo[] | null; now?: Date }) {
  const { t, lang } = useI18n();
  if (!channels || channels.length === 0) return null;
  const at = now ?? new Date();
  return (
    <span className="channels" data-testid="channels" aria-label={t('channels')}>
      {channels.map((ch) => {
        const v = channelView(ch, lang, at);
        return (
          <span key={ch.id} className={`channel ${v.tone}`} data-channel={ch.id} data-state={ch.state} title={v.title}>
            <span className="dot" aria-hidden="true" />
            {v.name}: {v.state}
          </span>
        );
      })}
    </span>
  );
}

// How often the states are asked for: often while a channel is not
// connected (the marketer waits for it), rarely once all are.
const pollBusyMs = 3000;
const pollCalmMs = 20000;

/** useChannels follows the channels of bot; null until the first answer. */
export function useChannels(bot: string): api.ChannelInfo[] | null {
  const [channels, setChannels] = useState<api.ChannelInfo[] | null>(null);
  useEffect(() => {
    setChannels(null);
    if (!bot) return;
    let gone = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      api.listChannels(bot).then(
        (chs) => {
          if (gone) return;
          setChannels(chs);
          timer = setTimeout(load, allConnected(chs) ? pollCalmMs : pollBusyMs);
        },
        () => {
          if (!gone) timer = setTimeout(load, pollCalmMs);
        },
      );
    };
    load();
    return () => {
      gone = true;
      clearTimeout(timer);
    };
  }, [bot]);
  return channels;
}
