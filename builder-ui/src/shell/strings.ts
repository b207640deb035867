// Strings of the app shell: the navigation between pages.
export const ru = {
  navFlows: 'Воронки',
  navUsers: 'Пользователи',
  navMain: 'Разделы',
  notFound: 'Такой страницы нет',
};

export const en: Record<keyof typeof ru, string> = {
  navFlows: 'Funnels',
  navUsers: 'Users',
  navMain: 'Sections',
  notFound: 'No such page',
};
