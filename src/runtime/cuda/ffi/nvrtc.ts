// koffi bindings to libnvrtc: compile CUDA C++ source to a cubin for one GPU architecture; check() attaches
// nvrtcGetErrorString and, for a failed compile, the program log.

import { NvrtcError } from "../errors.js";
import { loadLibrary, optionalFunc, type Fn, type LoadedLibrary } from "./load.js";

export interface Nvrtc {
  readonly loaded: LoadedLibrary;
  version(): { major: number; minor: number };
  /** source → cubin (when options name a real sm_XX arch) or PTX (compute_XX); throws NvrtcError with the compile log. */
  compile(source: string, name: string, options: string[]): { binary: Buffer; kind: "cubin" | "ptx"; log: string };
}

let nvrtc: Nvrtc | undefined;

export function loadNvrtc(): Nvrtc {
  if (nvrtc) return nvrtc;
  const loaded = loadLibrary({ stem: "libnvrtc", sonames: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"] });
  const L = loaded.lib;
  const f = (p: string): Fn => L.func(p) as Fn;
  const raw = {
    getErrorString: f("const char *nvrtcGetErrorString(int result)"),
    version: f("int nvrtcVersion(_Out_ int *major, _Out_ int *minor)"),
    create: f("int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, const char **headers, const char **includeNames)"),
    compile: f("int nvrtcCompileProgram(void *prog, int numOptions, const char **options)"),
    logSize: f("int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)"),
    log: f("int nvrtcGetProgramLog(void *prog, _Out_ uint8_t *log)"),
    cubinSize: optionalFunc(L, "int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)"),
    cubin: optionalFunc(L, "int nvrtcGetCUBIN(void *prog, _Out_ uint8_t *cubin)"),
    ptxSize: f("int nvrtcGetPTXSize(void *prog, _Out_ size_t *size)"),
    ptx: f("int nvrtcGetPTX(void *prog, _Out_ uint8_t *ptx)"),
    destroy: f("int nvrtcDestroyProgram(_Inout_ void **prog)"),
  };
  const check = (call: string, status: number, detail = ""): void => {
    if (status === 0) return;
    const name = (raw.getErrorString(status) as string | null) ?? "NVRTC_ERROR_UNKNOWN";
    throw new NvrtcError(call, status, name, detail);
  };
  const size = (call: string, fn: Fn, prog: bigint): number => {
    const o: [number | null] = [null];
    check(call, fn(prog, o) as number);
    return o[0] ?? 0;
  };
  nvrtc = {
    loaded,
    version() {
      const a: [number | null] = [null];
      const b: [number | null] = [null];
      check("nvrtcVersion", raw.version(a, b) as number);
      return { major: a[0] ?? 0, minor: b[0] ?? 0 };
    },
    compile(source, name, options) {
      const p: [bigint | null] = [null];
      check(`nvrtcCreateProgram(${name})`, raw.create(p, source, name, 0, null, null) as number);
      const prog = p[0]!;
      try {
        const status = raw.compile(prog, options.length, options) as number;
        const n = size("nvrtcGetProgramLogSize", raw.logSize, prog);
        const logBuf = Buffer.alloc(Math.max(1, n));
        check("nvrtcGetProgramLog", raw.log(prog, logBuf) as number);
        const log = logBuf.toString("utf8", 0, Math.max(0, n - 1)).trim();
        check(`nvrtcCompileProgram(${name}, ${options.join(" ")})`, status, log);
        const wantsCubin = options.some((o) => /(-arch|--gpu-architecture)[= ]?sm_/.test(o)) && raw.cubinSize && raw.cubin;
        if (wantsCubin) {
          const len = size("nvrtcGetCUBINSize", raw.cubinSize!, prog);
          const bin = Buffer.alloc(len);
          check("nvrtcGetCUBIN", raw.cubin!(prog, bin) as number);
          return { binary: bin, kind: "cubin", log };
        }
        const len = size("nvrtcGetPTXSize", raw.ptxSize, prog);
        const bin = Buffer.alloc(len);
        check("nvrtcGetPTX", raw.ptx(prog, bin) as number);
        return { binary: bin, kind: "ptx", log };
      } finally {
        raw.destroy([prog]);
      }
    },
  };
  return nvrtc;
}
