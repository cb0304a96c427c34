// Signing in and out. The API token lives in sessionStorage: it is gone when the tab closes,
// and no cookie carries it, so no other site can make this browser use it.

import { request, setToken } from "./api.js";

const KEY = "gem-envoy.token";

export function storedToken() {
  return sessionStorage.getItem(KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
  setToken(null);
}

function rememberToken(token) {
  sessionStorage.setItem(KEY, token);
  setToken(token);
}

/** Shows the sign-in form; resolves with the session once someone has signed in. */
export function signIn(message) {
  const section = document.getElementById("signin");
  const form = document.getElementById("signin-form");
  const note = document.getElementById("signin-message");
  const user = document.getElementById("signin-user");
  const password = document.getElementById("signin-password");
  const submit = document.getElementById("signin-submit");

  document.getElementById("app").hidden = true;
  section.hidden = false;
  note.hidden = !message;
  note.textContent = message || "";
  password.value = "";
  (user.value ? password : user).focus();

  return new Promise((resolve) => {
    form.onsubmit = async (event) => {
      event.preventDefault();
      if (!user.value || !password.value) {
        show(note, "Enter your username and password.");
        return;
      }
      submit.disabled = true;
      submit.textContent = "Signing in…";
      try {
        const answer = await request("/api/token", {
          method: "POST",
          body: { username: user.value, password: password.value },
        });
        if (!answer.ok) {
          show(note, failure(answer));
          password.select();
          return;
        }
        rememberToken(answer.data.token);
        const session = await request("/api/session");
        if (!session.ok) {
          show(note, "Signed in, but the host did not accept the new token. Try again.");
          return;
        }
        password.value = "";
        section.hidden = true;
        form.onsubmit = null;
        resolve(session.data);
      } catch (err) {
        show(note, err.message);
      } finally {
        submit.disabled = false;
        submit.textContent = "Sign in";
      }
    };
  });
}

/** The session of the token kept from before a reload, or null. */
export async function resume() {
  const token = storedToken();
  if (!token) return null;
  setToken(token);
  try {
    const answer = await request("/api/session");
    if (answer.ok) return answer.data;
  } catch {
    // host unreachable: sign in again once it is back
  }
  forgetToken();
  return null;
}

export async function signOut() {
  try {
    await request("/api/logout", { method: "POST" });
  } finally {
    forgetToken();
  }
}

function failure(answer) {
  if (answer.status === 401) return "Wrong username or password.";
  if (answer.status === 429) {
    return "Too many failed attempts. Wait a few minutes, then try again.";
  }
  if (answer.status === 422) return "Enter your username and password.";
  return (answer.data && answer.data.error) || `The host answered ${answer.status}.`;
}

function show(note, text) {
  note.textContent = text;
  note.hidden = false;
}
