export { type CheckResult, runChecks } from './doctor/checks.ts';
