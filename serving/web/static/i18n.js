// The pages' words in the reader's language: i18next (npm) with one JSON catalog per language
// (serving/web/locales). The language is the one chosen on the page, else the browser's.
// Elements say which message they show with data-i18n (text) or data-i18n-placeholder.
"use strict";
window.i18n = (() => {
  const LANGUAGES = ["en", "es"];
  const chosen = localStorage.getItem("lang");
  const browser = (navigator.language || "en").slice(0, 2);
  const lng = LANGUAGES.includes(chosen) ? chosen : LANGUAGES.includes(browser) ? browser : "en";
  const ready = (async () => {
    const [own, english] = await Promise.all([lng, "en"].map(async (l) => (await fetch(`/locales/${l}.json`)).json()));
    await i18next.init({ lng, fallbackLng: "en", resources: { [lng]: { translation: own }, en: { translation: english } },
      interpolation: { escapeValue: false } });
    apply(document);
    document.documentElement.lang = lng;
  })();
  function apply(root) {
    root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = i18next.t(el.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = i18next.t(el.dataset.i18nPlaceholder); });
  }
  return {
    lng, LANGUAGES, ready, apply,
    // Before the catalog has loaded (the first instants of a page), the English fallback given.
    t: (key, vars, fallback) => (i18next.isInitialized ? i18next.t(key, vars) : fallback ?? key),
    choose: (l) => { localStorage.setItem("lang", l); location.reload(); },
  };
})();
