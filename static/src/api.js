// The JSON API (/api/v1) from the page: the session cookie plus the page's CSRF token,
// which base.html gives htmx in the body's hx-headers.
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || "error";
    this.body = body || {};
  }
}

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  } catch (e) {
    return "";
  }
}

async function parse(response) {
  const text = await response.text();
  try { return text ? JSON.parse(text) : {}; } catch (e) { return {}; }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch("/api/v1" + path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { error: { code: "offline", message: "Caseroom could not be reached. Check your connection and try again." } });
  }
  const data = await parse(response);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** PUT a Blob with upload progress (XMLHttpRequest: fetch has no upload progress, and
 * Chromium streams fetch request bodies only over HTTP/2). The browser reads the Blob
 * from disk as it sends, so a 100 MB file is never one 100 MB buffer in the tab. */
export function upload(path, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", "/api/v1" + path);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.upload.onprogress = (e) => { if (onProgress && e.lengthComputable) onProgress(e.loaded, e.total); };
    xhr.onload = () => {
      if (xhr.status < 300) return resolve();
      let body = {};
      try { body = JSON.parse(xhr.responseText || "{}"); } catch (e) { body = {}; }
      reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, { error: { code: "offline", message: "The upload was interrupted. Nothing was kept: try again." } }));
    xhr.send(blob);
  });
}

/** GET a binary body as a stream (the caller decrypts it chunk by chunk). */
export async function download(path) {
  let response;
  try {
    response = await fetch("/api/v1" + path, { credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, { error: { code: "offline", message: "Caseroom could not be reached. Check your connection and try again." } });
  }
  if (!response.ok) throw new ApiError(response.status, await parse(response));
  return response.body;
}
