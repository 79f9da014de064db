/**
 * Work done once per `npm test` run before any test file starts, for the files that need it
 * (e.g. building the single executable once for every test that runs it).
 */
export async function runSetups (_files: string[]): Promise<void> {}
