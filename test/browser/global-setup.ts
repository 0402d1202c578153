import { writeAllFixtureModels } from '../support/fixture-models.ts';

export default async function globalSetup(): Promise<void> {
  await writeAllFixtureModels();
}
