// The funnels a new one can start from ("new funnel" dialog): each is a
// valid flow in Russian (templates.test.ts runs the real validator on every
// one), laid out when it opens.
import type { FlowDoc, NodeDoc } from './model';

export const templateIds = ['empty', 'lead', 'faq', 'quiz', 'csat', 'cart', 'webinar'] as const;
export type TemplateId = (typeof templateIds)[number];

type Nodes = Record<string, NodeDoc>;

function flow(id: string, name: string, start: string, nodes: Nodes, extra: Partial<FlowDoc> = {}): FlowDoc {
  return { voronka: 1, id, name, start, triggers: [{ command: '/start', goto: start, reset: true }], ...extra, nodes };
}

/** template builds a new funnel from a template, with its id and name. */
export function template(t: TemplateId, id: string, name: string): FlowDoc {
  switch (t) {
    case 'empty':
      return flow(id, name, 'welcome', {
        welcome: { type: 'message', text: 'Здравствуйте! Чем могу помочь?' },
      });
    case 'lead':
      return flow(
        id,
        name,
        'welcome',
        {
          welcome: {
            type: 'buttons',
            text: 'Здравствуйте, {{ contact.first_name }}! Что вас интересует?',
            buttons: [
              { label: 'Хочу купить', score: 20, tags: ['покупатель'], next: 'ask_budget' },
              { label: 'Просто смотрю', next: 'catalog' },
            ],
            timeout: { after: '2h', next: 'nudge' },
          },
          nudge: { type: 'message', text: 'Вы ещё здесь? Выберите вариант — и продолжим.', next: 'welcome' },
          catalog: { type: 'end', text: 'Вот наш каталог: https://example.ru/catalog. Возвращайтесь!' },
          ask_budget: {
            type: 'question',
            text: 'Какой у вас бюджет, в рублях?',
            save: 'бюджет',
            expect: 'number',
            invalid: 'Напишите число, например 50000.',
            next: 'ask_phone',
          },
          ask_phone: { type: 'question', text: 'Оставьте телефон — менеджер перезвонит.', save: 'телефон', expect: 'phone', next: 'check' },
          check: { type: 'condition', branches: [{ when: 'бюджет >= 100000', next: 'to_manager' }], else: 'thanks' },
          to_manager: { type: 'handoff', text: 'Передаю вас менеджеру, минутку…', queue: 'sales', note: 'Бюджет {{ бюджет }}, телефон {{ телефон }}' },
          thanks: { type: 'end', text: 'Спасибо! Мы пришлём подборку на ваш бюджет.' },
        },
        { vars: { бюджет: 'number', телефон: 'string' }, scoring: { hot: 50, warm: 20 } },
      );
    case 'faq':
      return flow(
        id,
        name,
        'menu',
        {
          menu: {
            type: 'buttons',
            text: 'Здравствуйте! Выберите вопрос или напишите свой.',
            buttons: [
              { label: 'Доставка', next: 'delivery' },
              { label: 'Оплата', next: 'payment' },
              { label: 'Позвать человека', next: 'to_operator' },
            ],
          },
          delivery: { type: 'message', text: 'Доставляем по всей России за 2–5 дней.', next: 'menu' },
          payment: { type: 'message', text: 'Оплатить можно картой, СБП или при получении.', next: 'menu' },
          to_operator: { type: 'handoff', text: 'Зову оператора, он ответит здесь же.', queue: 'support' },
        },
        {
          faq: [
            { keywords: ['доставка', 'привезёте', 'курьер'], answer: 'Доставляем по всей России за 2–5 дней.' },
            { keywords: ['оплата', 'карта', 'оплатить'], answer: 'Оплатить можно картой, СБП или при получении.' },
          ],
        },
      );
    case 'quiz':
      return flow(
        id,
        name,
        'q1',
        {
          q1: {
            type: 'buttons',
            text: 'Вопрос 1. Как часто вы занимаетесь спортом?',
            buttons: [
              { label: 'Каждый день', score: 10, next: 'q2' },
              { label: 'Иногда', score: 5, next: 'q2' },
              { label: 'Никогда', next: 'q2' },
            ],
          },
          q2: {
            type: 'buttons',
            text: 'Вопрос 2. Сколько вы спите?',
            buttons: [
              { label: '8 часов и больше', score: 10, next: 'q3' },
              { label: 'Меньше 8 часов', next: 'q3' },
            ],
          },
          q3: {
            type: 'buttons',
            text: 'Вопрос 3. Пьёте ли вы воду в течение дня?',
            buttons: [
              { label: 'Да', score: 10, next: 'result' },
              { label: 'Забываю', next: 'result' },
            ],
          },
          result: { type: 'condition', branches: [{ when: 'score >= 20', next: 'great' }], else: 'tips' },
          great: { type: 'end', text: 'Отличный результат: {{ score }} баллов! Так держать.' },
          tips: { type: 'end', text: 'У вас {{ score }} баллов. Пришлём несколько простых советов.' },
        },
      );
    case 'csat':
      return flow(
        id,
        name,
        'ask_rating',
        {
          ask_rating: {
            type: 'question',
            text: 'Оцените покупку от 1 до 5.',
            save: 'оценка',
            expect: 'choice',
            choices: ['1', '2', '3', '4', '5'],
            invalid: 'Нажмите цифру от 1 до 5.',
            next: 'route',
            timeout: { after: '1d', next: 'remind' },
          },
          remind: { type: 'message', text: 'Напоминаем: оценка — одно нажатие и очень нам поможет.', next: 'ask_rating' },
          route: { type: 'condition', branches: [{ when: 'оценка <= 3', next: 'ask_reason' }], else: 'ask_review' },
          ask_reason: { type: 'question', text: 'Жаль! Что пошло не так?', save: 'причина', expect: 'text', next: 'to_support' },
          to_support: { type: 'handoff', text: 'Передаю ваш отзыв в поддержку — с вами свяжутся.', queue: 'support', note: 'Оценка {{ оценка }}: {{ причина }}' },
          ask_review: { type: 'end', text: 'Спасибо! Будем рады отзыву на сайте: https://example.ru/reviews' },
        },
        { vars: { оценка: 'number', причина: 'string' }, expire: '14d' },
      );
    case 'cart':
      return flow(
        id,
        name,
        'wait',
        {
          wait: { type: 'delay', for: '1h', next: 'reminder' },
          reminder: {
            type: 'buttons',
            text: 'Вы оставили товары в корзине. Оформим заказ?',
            buttons: [
              { label: 'Оформить', next: 'checkout' },
              { label: 'Не сейчас', next: 'bye' },
            ],
            timeout: { after: '1d', next: 'discount' },
          },
          discount: { type: 'end', text: 'Дарим скидку 10% по промокоду КОРЗИНА10 — действует 3 дня.' },
          checkout: { type: 'goal', name: 'checkout', next: 'link' },
          link: { type: 'end', text: 'Ваша корзина: https://example.ru/cart' },
          bye: { type: 'end', text: 'Хорошо! Корзина сохранится.' },
        },
      );
    case 'webinar':
      return flow(
        id,
        name,
        'ask_name',
        {
          ask_name: { type: 'question', text: 'Здравствуйте! Как вас зовут?', save: 'имя', expect: 'text', next: 'ask_email' },
          ask_email: {
            type: 'question',
            text: '{{ имя }}, куда прислать ссылку на вебинар? Напишите e-mail.',
            save: 'почта',
            expect: 'email',
            invalid: 'Похоже, это не e-mail. Например: anna@example.ru',
            next: 'registered',
          },
          registered: { type: 'goal', name: 'registered', next: 'confirm' },
          confirm: { type: 'message', text: 'Готово, {{ имя }}! Ссылка придёт на {{ почта }}. Напомним за час до начала.', next: 'wait' },
          wait: { type: 'delay', for: '1d', next: 'remind' },
          remind: { type: 'end', text: 'Через час начинаем! Ссылка: https://example.ru/webinar' },
        },
        { vars: { имя: 'string', почта: 'string' } },
      );
  }
}
