// `crypt` digests.
// Source: Moddable-OpenSource/moddable modules/crypt/digest/crypt.js and
// modCrypt.c (xs_crypt_Digest accepts "MD5", "SHA1", "SHA224", "SHA256",
// "SHA384", "SHA512"; write takes a string, ArrayBuffer or typed array view;
// close returns an ArrayBuffer of outputSize bytes).

declare module "crypt" {
  export class Digest {
    constructor(type: "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512");
    write(data: string | ArrayBuffer | ArrayBufferView): void;
    close(): ArrayBuffer;
    reset(): void;
    readonly blockSize: number;
    readonly outputSize: number;
  }
}
