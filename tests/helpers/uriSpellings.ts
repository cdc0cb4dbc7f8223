// Spellings of one file URI (issue 13 item 1): `<base>/secret/key.txt`, where `<base>` holds
// `public/` and `secret/`. Each of `sameFile` names that file to a server that resolves URIs
// itself; each of `refused` has no single reading (a backslash, an encoded "/" or "\", a NUL,
// a query or fragment in a file: URI).
// None may reach the file past an allow-list of `<base>/public/*` or a deny-list of
// `<base>/secret/*`. The unit tests use base "/srv"; the integration test a temporary folder.

export interface Spellings {
  /** The canonical URI of the file. */
  readonly secret: string;
  readonly sameFile: readonly string[];
  readonly refused: readonly string[];
}

/** @param base an absolute POSIX path of plain characters, e.g. "/srv" */
export function secretFileSpellings(base: string): Spellings {
  const b = base.slice(1);
  const last = b.slice(b.lastIndexOf('/') + 1);
  const secret = `file:///${b}/secret/key.txt`;
  return {
    secret,
    sameFile: [
      secret,
      `file:///${b}/public/../secret/key.txt`,
      `file:///${b}/public/%2e%2e/secret/key.txt`,
      `file:///${b}/public/%2E%2E/secret/key.txt`,
      `file:///${b}/public/.%2e/secret/key.txt`,
      `file:///${b}/public/%2e./secret/key.txt`,
      `file:///${b}/./secret/key.txt`,
      `file:///${b}/%2e/secret/key.txt`,
      `file:///${b}//secret/key.txt`,
      `file:////${b}/secret/key.txt`,
      `file:///${b}/secret//key.txt`,
      `file:///${b}/%73ecret/key.txt`,
      `file:///${b}/%73%65%63%72%65%74/key.txt`,
      `file:///${b}/secre%74/key.txt`,
      `file:///${b}/secret/%6bey.txt`,
      `FILE:///${b}/secret/key.txt`,
      `File:///${b}/secret/key.txt`,
      `file://localhost/${b}/secret/key.txt`,
      `file://LOCALHOST/${b}/secret/key.txt`,
      `file://%6cocalhost/${b}/secret/key.txt`,
      `file:/${b}/secret/key.txt`,
      `file:///${b}/public/../../${last}/secret/key.txt`,
      `file:///../${b}/secret/key.txt`,
      `file:///${b}/public/x/../../secret/key.txt`,
      `file:///${b}/secret/./key.txt`,
      `file:///${b}/secret/sub/../key.txt`,
      `FILE://localhost/${b}/public/%2E%2E//./secret/%6Bey.txt`,
      // "?" and "#" escaped are path characters like any other.
      `file:///${b}/public/x%3F/../../secret/key.txt`,
      `file:///${b}/public/x%23/../../secret/key.txt`,
    ],
    refused: [
      `file:///${b}/public/..\\secret\\key.txt`,
      `file:///${b}\\secret\\key.txt`,
      `file:///${b}/public/%2e%2e%5csecret%5ckey.txt`,
      `file:///${b}/public/..%5Csecret/key.txt`,
      `file:///${b}/public%2f..%2fsecret/key.txt`,
      `file:///${b}/public/..%2Fsecret/key.txt`,
      `file:///${b}/public/%2e%2e%2fsecret%2fkey.txt`,
      `file:///${b}/secret/key.txt%00`,
      `file://${last}/secret/key.txt`,
      // A server that decodes the whole URI and then resolves it reads the dot segment in a
      // query or fragment as part of the path.
      `file:///${b}/public/x?/../../secret/key.txt`,
      `file:///${b}/public/x#/../../secret/key.txt`,
    ],
  };
}
