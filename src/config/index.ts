export { parseIni, IniSyntaxError, type IniEntry } from './ini.ts';
export { parseCInteger, parseFlagValue, formatFlagValue, formatDouble, type FlagType, type FlagValue } from './parse.ts';
export {
  defineFlag, defineGroupValidator, findFlag, findFlagBySection, allFlags, onFlagChange, formatValue, tagsOf,
  setFlagFromText, groupValidatorFailures, type Flag, type FlagSpec, type GroupValidator,
} from './flags.ts';
export { loadConfig, parseSetOption, ConfigError, type LoadedConfig } from './config.ts';
