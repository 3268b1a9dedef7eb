// Request targets for the update server. Catalog folder and firmware names are
// percent-encoded per segment; "/" separators and "." stay as they are.

export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** Download target of a catalog entry: "/fw.bin" for folder ".", "/bin/fw.bin" otherwise. */
export function firmwarePath(folder: string, name: string): string {
  const dir = folder.replace(/^\/+|\/+$/g, "");
  return dir === "" || dir === "." ? `/${encodePath(name)}` : `/${encodePath(dir)}/${encodePath(name)}`;
}
