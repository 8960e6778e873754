// The entry point: applies the saved theme, reads the browser-mode token, and draws the app.
import { render } from 'preact';
import { App } from './App';
import { applyTheme, loadTheme } from './theme';
import { token, isTauri } from './api';
import './styles.css';
import './networks.css';

applyTheme(loadTheme());
// Read the token from the URL (and remove it from the address bar) before anything else.
if (!isTauri()) token();

render(<App />, document.getElementById('app')!);
