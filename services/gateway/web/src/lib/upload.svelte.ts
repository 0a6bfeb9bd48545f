/**
 * Uploads through POST /api/assets (multipart, the fields Immich's web client sends), two at a
 * time, with byte progress per file and overall (XMLHttpRequest: fetch has no upload progress).
 */

export type UploadStatus = 'queued' | 'uploading' | 'done' | 'duplicate' | 'error';

/** One file's upload, observed by the progress panel. */
export class UploadItem {
  loaded = $state(0);
  status = $state<UploadStatus>('queued');
  /** The server's message, or empty for a network error (the panel names that in the app's language). */
  error = $state('');
  assetId = $state('');

  constructor(public readonly file: File) {}
}

const CONCURRENCY = 2;

/** The upload queue: items of the current batch and their overall progress. */
export class Uploads {
  items = $state<UploadItem[]>([]);
  total = $derived(this.items.reduce((sum, i) => sum + i.file.size, 0));
  loaded = $derived(this.items.reduce((sum, i) => sum + i.loaded, 0));
  finished = $derived(this.items.filter((i) => i.status !== 'queued' && i.status !== 'uploading').length);
  active = $derived(this.items.some((i) => i.status === 'queued' || i.status === 'uploading'));

  /**
   * Upload `files`; resolves with their items when all are done (each item records its own
   * failure; `assetId` is set for uploaded and duplicate ones).
   */
  async add(files: Iterable<File>): Promise<UploadItem[]> {
    const batch = [...files].map((f) => new UploadItem(f));
    if (!this.active) this.items = [];
    this.items.push(...batch);
    const queue = [...batch];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await uploadOne(item);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return batch;
  }

  /** Forget finished items (the panel closes). */
  clear(): void {
    if (!this.active) this.items = [];
  }
}

function uploadOne(item: UploadItem): Promise<void> {
  const { file } = item;
  const modified = new Date(file.lastModified || Date.now()).toISOString();
  const form = new FormData();
  form.append('deviceAssetId', `web-${file.name}-${file.size}-${file.lastModified}`);
  form.append('deviceId', 'WEB');
  form.append('fileCreatedAt', modified);
  form.append('fileModifiedAt', modified);
  form.append('isFavorite', 'false');
  form.append('assetData', file, file.name);
  item.status = 'uploading';
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/assets');
    xhr.withCredentials = true;
    xhr.upload.onprogress = (event) => {
      item.loaded = Math.min(event.loaded, file.size);
    };
    xhr.onload = () => {
      item.loaded = file.size;
      if (xhr.status === 200 || xhr.status === 201) {
        const body = JSON.parse(xhr.responseText) as { id: string; status: string };
        item.assetId = body.id;
        item.status = body.status === 'duplicate' ? 'duplicate' : 'done';
      } else {
        item.status = 'error';
        try {
          item.error = JSON.parse(xhr.responseText).message ?? xhr.statusText;
        } catch {
          item.error = xhr.statusText || `HTTP ${xhr.status}`;
        }
      }
      resolve();
    };
    xhr.onerror = () => {
      item.status = 'error';
      item.error = '';
      resolve();
    };
    xhr.send(form);
  });
}
