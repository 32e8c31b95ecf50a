// File responses with what PXE clients and caches need: Content-Length always (HEAD too),
// Range (206), ETag / If-None-Match (304). Bodies are Bun.file slices, sent with sendfile.

export function fileResponse(req: Request, path: string, size: number, etag: string, type = 'application/octet-stream'): Response {
  const tag = `"${etag}"`;
  const base: Record<string, string> = { 'Content-Type': type, ETag: tag, 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-cache' };
  if (etagMatches(req, tag)) return new Response(null, { status: 304, headers: base });
  let start = 0,
    end = size - 1,
    status = 200;
  // One byte range is honoured; several ranges, other units, bad syntax or a stale If-Range get the
  // whole file (RFC 9110 lets a server ignore Range), an unsatisfiable range gets 416.
  const range = req.headers.get('range');
  const ifRange = req.headers.get('if-range');
  const m = range && (!ifRange || ifRange === tag) ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  if (m && (m[1] !== '' || m[2] !== '')) {
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]));
      if (m[2] === '0') start = size;
    } else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(size - 1, Number(m[2]));
    }
    if (start > end || start >= size)
      return new Response(null, { status: 416, headers: { ...base, 'Content-Range': `bytes */${size}`, 'Content-Length': '0' } });
    status = 206;
    base['Content-Range'] = `bytes ${start}-${end}/${size}`;
  }
  const length = size === 0 ? 0 : end - start + 1;
  base['Content-Length'] = String(length);
  if (req.method === 'HEAD') return new Response(null, { status, headers: base });
  const body = status === 206 ? Bun.file(path).slice(start, end + 1) : Bun.file(path);
  return new Response(body, { status, headers: base });
}

export function bytesResponse(req: Request, data: Uint8Array, etag: string, type = 'application/octet-stream'): Response {
  const headers = { 'Content-Type': type, 'Content-Length': String(data.length), ETag: `"${etag}"` };
  if (etagMatches(req, `"${etag}"`)) return new Response(null, { status: 304, headers });
  return new Response(req.method === 'HEAD' ? null : (data as Uint8Array<ArrayBuffer>), { headers });
}

/** If-None-Match: `*`, or a list of (possibly weak) tags, one of which is ours. */
function etagMatches(req: Request, tag: string): boolean {
  const h = req.headers.get('if-none-match');
  if (!h) return false;
  return h.trim() === '*' || h.split(',').some((t) => t.trim().replace(/^W\//, '') === tag);
}
