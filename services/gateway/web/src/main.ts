import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { setupI18n } from './lib/i18n';
import { applyTheme, storedTheme } from './lib/theme';

applyTheme(storedTheme());

const target = document.getElementById('app');
if (!target) throw new Error('#app is missing from index.html');
// The app renders once the locale's messages are there (English is bundled; others load first).
await setupI18n();
export default mount(App, { target });
