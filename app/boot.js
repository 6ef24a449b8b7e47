// Starts the widget's Wasm (a file of its own: the widget page's CSP forbids inline scripts).
import init from "./outpost_app.js";
init({ module_or_path: new URL("./outpost_app_bg.wasm", import.meta.url) });
