// Progress for import uploads: the bar follows the upload, then shows that the server
// is working (the preview of a large file takes a few seconds). Without JavaScript the
// form simply submits.
for (const form of document.querySelectorAll("form[data-upload-progress]")) {
  const bar = form.querySelector("progress");
  const status = form.querySelector("[data-upload-status]");
  form.addEventListener("submit", (event) => {
    if (!window.FormData || !bar) return;
    event.preventDefault();
    const request = new XMLHttpRequest();
    const data = new FormData(form);
    if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
    bar.hidden = false;
    bar.value = 0;
    for (const button of form.querySelectorAll("button, input[type=submit]")) button.disabled = true;
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
        status.textContent = `${Math.round((100 * e.loaded) / e.total)} % ${status.dataset.uploading}`;
      }
    });
    request.upload.addEventListener("load", () => {
      bar.removeAttribute("value"); // indeterminate: the server is checking the file
      status.textContent = status.dataset.processing;
    });
    request.addEventListener("load", () => {
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", () => {
      status.textContent = status.dataset.failed;
      for (const button of form.querySelectorAll("button, input[type=submit]")) button.disabled = false;
    });
    request.open(form.method, form.action || window.location.href);
    request.send(data);
  });
}
