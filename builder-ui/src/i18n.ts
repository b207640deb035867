// Russian (the default) and English strings of the whole interface.
import { createContext, useContext } from 'react';
import { en as shellEn, ru as shellRu } from './shell/strings';
import { en as bcEn, ru as bcRu } from './broadcasts/strings';
import { en as botsEn, ru as botsRu } from './bots/strings';
import { en as anEn, ru as anRu } from './analytics/strings';
import { en as ctEn, ru as ctRu } from './contacts/strings';
import { en as msgrEn, ru as msgrRu } from './messengers/strings';

export type Lang = 'ru' | 'en';

const coreRu = {
  title: 'Воронка — конструктор',
  signIn: 'Войти',
  signOut: 'Выйти',
  login: 'Логин',
  password: 'Пароль',
  wrongLogin: 'Неверный логин или пароль',
  bot: 'Бот',
  flow: 'Воронка',
  newFlow: 'Новая воронка',
  newFlowPrompt: 'Идентификатор новой воронки (латиница, цифры, _ и -):',
  deleteDraft: 'Удалить черновик',
  deleteDraftConfirm: 'Удалить черновик этой воронки? Несохранённые и неопубликованные изменения пропадут; опубликованные версии останутся.',
  draftDeleted: 'Черновик удалён',
  palette: 'Блоки',
  paletteHint: 'Перетащите блок на холст или щёлкните по нему',
  properties: 'Свойства',
  settings: 'Настройки воронки',
  noSelection: 'Выберите блок на холсте, чтобы изменить его.',
  nodeId: 'Идентификатор',
  makeStart: 'Сделать стартовым',
  isStart: 'Стартовый блок',
  delete: 'Удалить',
  add: 'Добавить',
  remove: 'Убрать',
  saved: 'Сохранено',
  saving: 'Сохранение…',
  unsaved: 'Есть несохранённые изменения',
  saveFailed: 'Не удалось сохранить',
  publish: 'Опубликовать',
  published: 'Опубликована версия',
  publishBlocked: 'Исправьте ошибки, чтобы опубликовать',
  errors: 'Ошибки',
  warnings: 'Предупреждения',
  noProblems: 'Ошибок нет',
  versions: 'Версии',
  noVersions: 'Ещё не опубликовано',
  rollback: 'Откатить к этой версии',
  rollbackDone: 'Версия опубликована снова',
  diffAdded: 'добавлено',
  diffRemoved: 'удалено',
  diffChanged: 'изменено',
  diffSettings: 'настройки изменены',
  diffNone: 'совпадает с черновиком',
  exportYaml: 'Экспорт YAML',
  importYaml: 'Импорт YAML',
  importDone: 'Импортировано',
  preview: 'Предпросмотр',
  restart: 'Заново',
  send: 'Отправить',
  typeMessage: 'Сообщение…',
  previewHint: 'Чат с черновиком через настоящий движок',
  previewBlocked: 'Исправьте ошибки, чтобы запустить предпросмотр',
  currentNode: 'Текущий блок',
  vars: 'Переменные',
  score: 'Баллы',
  tags: 'Теги',
  arrange: 'Упорядочить',
  undo: 'Отменить',
  redo: 'Вернуть',
  shortcuts: 'Ctrl+Z / Ctrl+Shift+Z — отмена/возврат, Ctrl+C / Ctrl+V — копировать/вставить, Delete — удалить, Ctrl+S — сохранить, Shift+перетаскивание — выделение',
  name: 'Название',
  description: 'Описание',
  expire: 'Срок жизни диалога',
  varsHelp: 'переменная: тип (string, number, bool, date, list, object)',
  scoringHelp: 'сегмент: минимальный балл',
  triggers: 'Триггеры',
  faq: 'Частые вопросы',
  command: 'Команда',
  keywords: 'Ключевые слова (через запятую)',
  goto: 'Перейти к',
  reset: 'Сбросить диалог',
  answer: 'Ответ',
  varHint: 'Переменные: ',
  loading: 'Загрузка…',
  language: 'English',
  none: '—',
  field_text: 'Текст',
  field_next: 'Дальше',
  field_buttons: 'Кнопки',
  field_timeout: 'Тайм-аут',
  field_save: 'Сохранить в переменную',
  field_expect: 'Ожидаемый ответ',
  field_choices: 'Варианты ответа',
  field_invalid: 'Текст при неверном ответе',
  field_attempts: 'Попыток',
  field_on_fail: 'После неудачных попыток',
  field_branches: 'Ветки',
  field_else: 'Иначе',
  field_add: 'Добавить баллов',
  field_tags: 'Теги',
  field_queue: 'Очередь операторов',
  field_resume: 'Продолжить с',
  field_for: 'Ждать',
  field_variants: 'Варианты',
  field_method: 'Метод',
  field_url: 'URL',
  field_headers: 'Заголовки',
  field_body: 'Тело (JSON)',
  field_on_error: 'При ошибке',
  field_vars: 'Переменные',
  field_name: 'Название цели',
  field_value: 'Ценность',
  field_note: 'Заметка',
  label: 'Надпись',
  when: 'Условие',
  weight: 'Вес',
  after: 'Через',
  type_message: 'Сообщение',
  type_buttons: 'Кнопки',
  type_question: 'Вопрос',
  type_condition: 'Условие',
  type_score: 'Баллы',
  type_handoff: 'Оператор',
  type_delay: 'Пауза',
  type_split: 'A/B-тест',
  type_webhook: 'Вебхук',
  type_set: 'Переменные',
  type_goal: 'Цель',
  type_unsubscribe: 'Отписка',
  type_end: 'Конец',
  users: 'Пользователи',
  backToBuilder: 'К конструктору',
  role: 'Роль',
  created: 'Создан',
  you: 'вы',
  addUser: 'Новый пользователь',
  userAdded: 'Пользователь добавлен',
  userDeleted: 'Пользователь удалён',
  passwordChanged: 'пароль изменён',
  newPassword: 'Новый пароль',
  save: 'Сохранить',
  resetPassword: 'Сменить пароль',
  cannotDeleteSelf: 'Нельзя удалить себя',
  deleteUserConfirm: 'Удалить пользователя',
  passwordRule: 'Пароль — от 8 до 72 символов. Смена роли или пароля завершает сеансы пользователя.',
  roleHelpAdmin: 'всё, включая пользователей',
  roleHelpMarketer: 'рисует, проверяет и публикует воронки',
  roleHelpOperator: 'отвечает клиентам во входящих',
  role_admin: 'Администратор',
  role_marketer: 'Маркетолог',
  role_operator: 'Оператор',
  tooManyAttempts: 'Слишком много неудачных попыток. Попробуйте снова через {t}.',
  minutesShort: 'мин',
  secondsShort: 'с',
  previewDraftChanged: 'Черновик изменён. Этот диалог идёт по версии, с которой начался.',
  previewRestartNew: 'Перезапустить с изменениями',
  fullName: 'Имя',
  builderNotForRole: 'Конструктор — для маркетологов и администраторов. Операторы отвечают клиентам во входящих.',
  loginTaken: 'Пользователь с таким логином уже есть',
  lastAdmin: 'Это последний администратор: сначала назначьте администратором кого-то ещё',
  loginRule: 'Логин — от 1 до 64 символов без пробелов',
  channels: 'Каналы',
  channel_telegram: 'Telegram',
  channel_web: 'Веб-чат',
  channelState_connecting: 'подключается',
  channelState_connected: 'работает',
  channelState_degraded: 'нет связи',
  channelState_failed: 'не работает',
  channelSince: 'с {t}',
  channelRetry: 'следующая попытка через {t}',
  channelRetryNow: 'следующая попытка сейчас',
  channelDegradedHint: 'Сервер сам переподключится, когда мессенджер ответит. Веб-чат и другие боты работают.',
  channelFailedHint: 'Мессенджер отклонил токен бота: исправьте токен и перезапустите сервер. Веб-чат и другие боты работают.',
  channelAccount: 'бот @{t}',
};

const coreEn: Record<keyof typeof coreRu, string> = {
  title: 'Voronka — builder',
  signIn: 'Sign in',
  signOut: 'Sign out',
  login: 'Login',
  password: 'Password',
  wrongLogin: 'Wrong login or password',
  bot: 'Bot',
  flow: 'Flow',
  newFlow: 'New flow',
  newFlowPrompt: 'Id of the new flow (latin letters, digits, _ and -):',
  deleteDraft: 'Delete draft',
  deleteDraftConfirm: 'Delete the draft of this flow? Unpublished changes are lost; published versions stay.',
  draftDeleted: 'Draft deleted',
  palette: 'Nodes',
  paletteHint: 'Drag a node onto the canvas or click it',
  properties: 'Properties',
  settings: 'Flow settings',
  noSelection: 'Select a node on the canvas to edit it.',
  nodeId: 'Id',
  makeStart: 'Make start',
  isStart: 'Start node',
  delete: 'Delete',
  add: 'Add',
  remove: 'Remove',
  saved: 'Saved',
  saving: 'Saving…',
  unsaved: 'Unsaved changes',
  saveFailed: 'Saving failed',
  publish: 'Publish',
  published: 'Published version',
  publishBlocked: 'Fix the errors to publish',
  errors: 'Errors',
  warnings: 'Warnings',
  noProblems: 'No problems',
  versions: 'Versions',
  noVersions: 'Nothing published yet',
  rollback: 'Roll back to this version',
  rollbackDone: 'Version published again',
  diffAdded: 'added',
  diffRemoved: 'removed',
  diffChanged: 'changed',
  diffSettings: 'settings changed',
  diffNone: 'same as the draft',
  exportYaml: 'Export YAML',
  importYaml: 'Import YAML',
  importDone: 'Imported',
  preview: 'Preview',
  restart: 'Restart',
  send: 'Send',
  typeMessage: 'Message…',
  previewHint: 'Chat with the draft through the real engine',
  previewBlocked: 'Fix the errors to run the preview',
  currentNode: 'Current node',
  vars: 'Variables',
  score: 'Score',
  tags: 'Tags',
  arrange: 'Arrange',
  undo: 'Undo',
  redo: 'Redo',
  shortcuts: 'Ctrl+Z / Ctrl+Shift+Z undo/redo, Ctrl+C / Ctrl+V copy/paste, Delete deletes, Ctrl+S saves, Shift+drag selects',
  name: 'Name',
  description: 'Description',
  expire: 'Conversation lifetime',
  varsHelp: 'variable: type (string, number, bool, date, list, object)',
  scoringHelp: 'segment: minimum score',
  triggers: 'Triggers',
  faq: 'FAQ',
  command: 'Command',
  keywords: 'Keywords (comma separated)',
  goto: 'Go to',
  reset: 'Reset the conversation',
  answer: 'Answer',
  varHint: 'Variables: ',
  loading: 'Loading…',
  language: 'Русский',
  none: '—',
  field_text: 'Text',
  field_next: 'Next',
  field_buttons: 'Buttons',
  field_timeout: 'Timeout',
  field_save: 'Save to variable',
  field_expect: 'Expected answer',
  field_choices: 'Choices',
  field_invalid: 'Text after an invalid answer',
  field_attempts: 'Attempts',
  field_on_fail: 'After failed attempts',
  field_branches: 'Branches',
  field_else: 'Else',
  field_add: 'Add points',
  field_tags: 'Tags',
  field_queue: 'Operator queue',
  field_resume: 'Resume at',
  field_for: 'Wait for',
  field_variants: 'Variants',
  field_method: 'Method',
  field_url: 'URL',
  field_headers: 'Headers',
  field_body: 'Body (JSON)',
  field_on_error: 'On error',
  field_vars: 'Variables',
  field_name: 'Goal name',
  field_value: 'Value',
  field_note: 'Note',
  label: 'Label',
  when: 'When',
  weight: 'Weight',
  after: 'After',
  type_message: 'Message',
  type_buttons: 'Buttons',
  type_question: 'Question',
  type_condition: 'Condition',
  type_score: 'Score',
  type_handoff: 'Handoff',
  type_delay: 'Delay',
  type_split: 'A/B split',
  type_webhook: 'Webhook',
  type_set: 'Set',
  type_goal: 'Goal',
  type_unsubscribe: 'Unsubscribe',
  type_end: 'End',
  users: 'Users',
  backToBuilder: 'Back to the builder',
  role: 'Role',
  created: 'Created',
  you: 'you',
  addUser: 'New user',
  userAdded: 'User added',
  userDeleted: 'User deleted',
  passwordChanged: 'password changed',
  newPassword: 'New password',
  save: 'Save',
  resetPassword: 'Reset password',
  cannotDeleteSelf: 'You cannot delete yourself',
  deleteUserConfirm: 'Delete the user',
  passwordRule: 'Passwords have 8 to 72 characters. Changing a role or password signs the user out.',
  roleHelpAdmin: 'everything, users included',
  roleHelpMarketer: 'draws, tests and publishes funnels',
  roleHelpOperator: 'answers customers in the inbox',
  role_admin: 'Admin',
  role_marketer: 'Marketer',
  role_operator: 'Operator',
  tooManyAttempts: 'Too many failed attempts. Try again in {t}.',
  minutesShort: 'min',
  secondsShort: 's',
  previewDraftChanged: 'The draft changed. This conversation keeps the version it started on.',
  previewRestartNew: 'Restart with the changes',
  fullName: 'Name',
  builderNotForRole: 'The builder is for marketers and admins. Operators answer customers in the inbox.',
  loginTaken: 'A user with this login exists',
  lastAdmin: 'This is the last admin: make someone else an admin first',
  loginRule: 'Logins have 1 to 64 characters without spaces',
  channels: 'Channels',
  channel_telegram: 'Telegram',
  channel_web: 'Web chat',
  channelState_connecting: 'connecting',
  channelState_connected: 'connected',
  channelState_degraded: 'no connection',
  channelState_failed: 'down',
  channelSince: 'since {t}',
  channelRetry: 'next attempt in {t}',
  channelRetryNow: 'next attempt now',
  channelDegradedHint: 'The server reconnects by itself once the messenger answers. The web chat and the other bots work.',
  channelFailedHint: 'The messenger rejected the bot token: fix the token and restart the server. The web chat and the other bots work.',
  channelAccount: 'bot @{t}',
};

// Each page folder keeps its own strings (src/<page>/strings.ts: ru, and en
// with the same keys); they are spread in here so every key is checked in
// both languages and one t() serves the whole app.
const ru = { ...coreRu, ...shellRu, ...bcRu, ...botsRu, ...anRu, ...ctRu, ...msgrRu };
const en: Record<keyof typeof ru, string> = { ...coreEn, ...shellEn, ...bcEn, ...botsEn, ...anEn, ...ctEn, ...msgrEn };

export type Key = keyof typeof ru;

export const dictionaries: Record<Lang, Record<Key, string>> = { ru, en };

/** translate looks a key up, falling back to the key (a field the spec added later). */
export function translate(lang: Lang, key: string): string {
  const d = dictionaries[lang] as Record<string, string>;
  return d[key] ?? key;
}

export interface I18n {
  lang: Lang;
  t: (key: Key) => string;
  tr: (key: string) => string; // keys made at run time: field_<name>, type_<type>
  setLang: (l: Lang) => void;
}

export const I18nContext = createContext<I18n>({
  lang: 'ru',
  t: (k) => ru[k],
  tr: (k) => translate('ru', k),
  setLang: () => {},
});

export function useI18n(): I18n {
  return useContext(I18nContext);
}

/**
 * Russian descriptions of the node types and their fields. The English ones
 * come from the server (GET /api/spec, engine/flow/spec.go), which stays the
 * single source; these translate them. A field's text is looked up as
 * "<type>.<field>" first (where one field means something else in another
 * node, like save), then as "<field>".
 */
export const ruNodeDocs: Record<string, string> = {
  message: 'Отправляет сообщение и идёт дальше.',
  buttons: 'Отправляет сообщение с кнопками и ждёт нажатия.',
  question: 'Задаёт вопрос, проверяет и сохраняет ответ.',
  condition: 'Переходит по первой ветке, условие которой выполнено.',
  score: 'Добавляет баллы лида и теги.',
  handoff: 'Передаёт чат живому оператору и ждёт, пока тот вернёт его боту.',
  delay: 'Ждёт заданное время, затем идёт дальше.',
  split: 'A/B-тест: один раз за диалог выбирает вариант по весам.',
  webhook: 'Вызывает HTTP-адрес (например, CRM) и сохраняет JSON-ответ.',
  set: 'Задаёт переменные по выражениям.',
  goal: 'Засчитывает конверсию в аналитике.',
  unsubscribe: 'Отключает согласие: рассылки больше не придут этому контакту.',
  end: 'Завершает диалог; следующее сообщение начнёт его заново.',
};

export const ruFieldDocs: Record<string, string> = {
  type: 'тип блока',
  note: 'заметка для людей; у передачи оператору — заметка, которую увидит оператор',
  ui: 'положение на холсте конструктора: {x, y}',
  text: 'что говорит бот; можно вставлять {{ выражения }}',
  next: 'блок, к которому перейти дальше; без него диалог здесь заканчивается',
  'question.next': 'блок, к которому перейти дальше',
  'delay.next': 'блок, к которому перейти дальше',
  'webhook.next': 'блок, к которому перейти дальше',
  timeout: 'нет ответа за {after} — переход к {next}',
  buttons: 'кнопки: {надпись, дальше, баллы, теги}',
  'question.save': 'переменная, в которую сохраняется ответ (приводится к её типу)',
  expect: 'text | number | email | phone | date | choice | {regex: \'^...$\'}',
  choices: 'допустимые ответы для expect: choice (показываются кнопками)',
  invalid: 'текст повторного вопроса, если ответ не подходит',
  attempts: 'сколько неверных ответов до on_fail (по умолчанию 3)',
  on_fail: 'куда перейти после слишком многих неверных ответов',
  branches: 'ветки: {условие, дальше}, проверяются по порядку',
  else: 'куда перейти, если ни одно условие не выполнено; без него диалог заканчивается',
  add: 'сколько баллов прибавить (отрицательное число вычитает)',
  tags: 'теги, которые добавляются диалогу',
  queue: 'очередь операторов, например sales',
  resume: 'где бот продолжит, когда оператор вернёт чат (по умолчанию — со старта)',
  wait: 'сколько чат ждёт оператора, прежде чем бот продолжит на timeout: 15m',
  'handoff.timeout': 'где бот продолжит, если за wait чат никто не взял',
  offline: 'где бот продолжит вне рабочих часов бота (без него чат ждёт и уходит away)',
  away: 'сообщение вне рабочих часов, если нет ветки offline; не чаще раза в день',
  for: 'сколько ждать: 30m, 2h, 1d',
  variants: 'варианты: {название, вес, дальше}',
  method: 'GET, POST, PUT, PATCH или DELETE (по умолчанию POST)',
  url: 'адрес; можно вставлять {{ выражения }}',
  headers: 'заголовки запроса; значения — шаблоны',
  body: 'тело JSON; строки в нём — шаблоны',
  'webhook.save': 'переменная, в которую сохраняется JSON-ответ',
  on_error: 'куда перейти, если вызов не удался (по умолчанию — дальше)',
  vars: 'переменная: выражение',
  name: 'название цели, например qualified_lead',
  value: 'ценность конверсии, например выручка',
};

/** nodeDoc is the description of a node type in lang; English comes from the spec. */
export function nodeDoc(lang: Lang, type: string, specDoc: string): string {
  return lang === 'ru' ? (ruNodeDocs[type] ?? specDoc) : specDoc;
}

/** fieldDoc is the description of a node's field in lang; English comes from the spec. */
export function fieldDoc(lang: Lang, type: string, field: string, specDoc: string): string {
  if (lang !== 'ru') return specDoc;
  return ruFieldDocs[`${type}.${field}`] ?? ruFieldDocs[field] ?? specDoc;
}

/**
 * ruProblems words the validator's messages in Russian, keyed by the Go
 * format the server sends with each problem (Problem.format); the verbs
 * (%s, %q, %d) stay in the same order, as the arguments come in it. A
 * message without an entry is shown as the validator said it.
 */
export const ruProblems: Record<string, string> = {
  '%s': '%s',
  'handoff %s has wait but no timeout: the node to go to when nobody takes the chat': 'у передачи оператору %s есть wait, но нет timeout: блока, куда идти, если чат никто не взял',
  'handoff %s has timeout but no wait: how long to wait for an operator, such as 15m': 'у передачи оператору %s есть timeout, но нет wait: сколько ждать оператора, например 15m',
  'wait must be longer than zero': 'wait должен быть больше нуля',
  'a queue name cannot hold control characters': 'в названии очереди не может быть управляющих символов',
  'missing voronka: %d (the format version)': 'нет voronka: %d (версия формата)',
  'unsupported format version %d (this release reads voronka: %d)': 'версия формата %d не поддерживается (эта версия читает voronka: %d)',
  "missing id: the flow's name in lowercase letters, digits and -": 'нет id: имя воронки из строчных латинских букв, цифр и -',
  'flow id %q must use only a-z, 0-9 and -': 'id воронки %q может состоять только из a-z, 0-9 и -',
  'the flow has no nodes': 'в воронке нет блоков',
  'missing start: the node a new conversation begins at': 'нет start: блока, с которого начинается новый диалог',
  'start: no node %q%s': 'start: нет блока %q%s',
  'segment name %q must be a plain word': 'название сегмента %q должно быть одним словом',
  'a trigger needs command: /name or keywords: [...]': 'триггеру нужна команда (command: /имя) или ключевые слова (keywords: [...])',
  'a trigger has either command or keywords, not both': 'у триггера либо команда, либо ключевые слова, но не то и другое',
  'command %q must start with / and have no spaces': 'команда %q должна начинаться с / и не содержать пробелов',
  'a trigger needs goto: the node to jump to': 'триггеру нужен goto: блок, куда перейти',
  'goto: no node %q%s': 'goto: нет блока %q%s',
  'a faq entry needs keywords': 'вопросу FAQ нужны ключевые слова',
  'a faq entry needs an answer': 'вопросу FAQ нужен ответ',
  'variable name %q must start with a letter and use letters, digits and _':
    'имя переменной %q должно начинаться с буквы и состоять из букв, цифр и _',
  '%s is a built-in name; choose another variable name': '%s — встроенное имя; выберите другое имя переменной',
  '%s: no node %q%s': '%s: нет блока %q%s',
  '%s: variable %s is not declared under vars': '%s: переменная %s не объявлена в vars',
  '%s: variable %s is a %s, but this node saves a %s': '%s: переменная %s имеет тип %s, а этот блок сохраняет %s',
  'condition %s needs at least one branch': 'условию %s нужна хотя бы одна ветка',
  'delay must be longer than zero': 'пауза должна быть длиннее нуля',
  'split %s needs variants': 'A/B-тесту %s нужны варианты',
  'variant %q needs a weight above zero': 'варианту %q нужен вес больше нуля',
  'variant name %q is used twice': 'название варианта %q использовано дважды',
  'method %q must be one of %s': 'метод %q должен быть одним из: %s',
  'set: variable %s is not declared under vars': 'set: переменная %s не объявлена в vars',
  'goal needs a name': 'цели нужно название',
  '%s is a %s, but %q gives a %s': '%s имеет тип %s, а %q даёт %s',
  'buttons node %s has no buttons': 'в блоке кнопок %s нет кнопок',
  'node %s is unreachable: nothing leads to it from start or a trigger': 'к блоку %s ничто не ведёт: ни старт, ни триггер',
  'loop with no waiting node: %s; add a buttons, question or delay node to it':
    'цикл без ожидания: %s; добавьте в него кнопки, вопрос или паузу',
  '%s shows at most %d buttons; this node has %d': '%s показывает не больше %d кнопок, а здесь их %d',
  '%s cuts button labels to %d characters; the longest here has %d': '%s обрезает надписи кнопок до %d символов, а самая длинная здесь — %d',
  '%s shows up to %d buttons as buttons; these %d become a list the person opens':
    '%s показывает кнопками не больше %d; эти %d станут списком, который нужно открыть',
  '%s carries at most %d characters a message; this text of %d goes out in %d messages':
    '%s вмещает в сообщение не больше %d символов; этот текст из %d уйдёт %d сообщениями',
  'choices are used only with expect: choice': 'варианты (choices) нужны только при expect: choice',
  '%s node %s needs %s': '%s %s: не заполнено поле %s',
  'timeout needs after: a duration such as 2h': 'тайм-ауту нужна длительность after, например 2h',
  'timeout needs next: the node to go to': 'тайм-ауту нужен next: блок, куда перейти',
  'branch needs when: a condition': 'ветке нужно условие when',
  'branch needs next: the node to go to': 'ветке нужен next: блок, куда перейти',
  'variant needs a name': 'варианту нужно название',
  'variant needs next: the node to go to': 'варианту нужен next: блок, куда перейти',
  'button needs a label': 'кнопке нужна надпись',
  'button %q needs next: the node to go to': 'кнопке %q нужен next: блок, куда перейти',
  'node id %q must be 1–64 letters, digits, _ or -': 'id блока %q: от 1 до 64 букв, цифр, _ или -',
  '%s must be an expression': '%s должно быть выражением',
  'duplicate key %q in %s': 'ключ %q повторяется в %s',
};

// Messages the validator builds inside an argument: a suggestion for a
// misspelt node and the wording of an undeclared variable in an expression.
const ruArgs: [RegExp, string][] = [
  [/^ \(did you mean "(.*)"\?\)$/, ' (может быть, "$1"?)'],
  [/^variable (\S+) is used but not declared under vars$/, 'переменная $1 используется, но не объявлена в vars'],
];

/** goFormat fills %s, %q, %d and %v as Go's fmt does for plain values; null when the arguments do not fit. */
export function goFormat(format: string, args: readonly unknown[]): string | null {
  let i = 0;
  let fits = true;
  const out = format.replace(/%([sdqv%])/g, (_m, verb: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) {
      fits = false;
      return '';
    }
    const a = args[i++];
    return verb === 'q' ? JSON.stringify(String(a)) : String(a);
  });
  return fits && i === args.length ? out : null;
}

/** problemText is a validation problem's message in lang. */
export function problemText(lang: Lang, p: { message: string; format?: string; args?: unknown[] }): string {
  if (lang !== 'ru' || !p.format) return p.message;
  const ruFormat = ruProblems[p.format];
  if (ruFormat === undefined) return p.message;
  const args = (p.args ?? []).map((a) =>
    typeof a === 'string' ? ruArgs.reduce((s, [re, to]) => s.replace(re, to), a) : a,
  );
  return goFormat(ruFormat, args) ?? p.message;
}
